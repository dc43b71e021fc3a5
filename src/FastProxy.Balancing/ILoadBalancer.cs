namespace FastProxy.Balancing;

/// <summary>
/// Picks one server of an upstream for a request or connection. One sealed class per algorithm, chosen by
/// the `balance` key of proxy.toml (see <see cref="LoadBalancers.Create"/>).
/// </summary>
/// <remarks>
/// Implementations are called concurrently from every I/O thread, must not allocate, must not block, and
/// skip servers that are unavailable (<see cref="BalancedServer.IsAvailable"/>) or excluded by the caller
/// (already tried for this request).
/// </remarks>
public interface ILoadBalancer
{
    /// <summary>The name used in proxy.toml: round_robin, least_conn, ip_hash, weighted, consistent_hash, p2c.</summary>
    string Name { get; }

    /// <summary>Returns the index of the chosen server in the set, or -1 when no server can be chosen.</summary>
    int Pick(in PickContext context);
}

/// <summary>What a pick may depend on. A ref struct so that building one costs nothing.</summary>
public readonly ref struct PickContext
{
    /// <summary>A hash of the client's address (for ip_hash); 0 when unknown.</summary>
    public ulong ClientHash { get; init; }

    /// <summary>
    /// consistent_hash's key, hashed by the forwarder (the client hash for hash_key = "ip", else XxHash3 of the header,
    /// cookie or path bytes; the client hash again when the request lacks that header or cookie).
    /// </summary>
    public ulong KeyHash { get; init; }

    /// <summary>Bit i set: server i must not be chosen (already tried). Empty: none excluded.</summary>
    public ReadOnlySpan<ulong> Excluded { get; init; }

    public bool IsExcluded(int index)
    {
        int word = index >> 6;
        return word < Excluded.Length && (Excluded[word] & (1UL << (index & 63))) != 0;
    }

    /// <summary>
    /// Words an exclusion set over <paramref name="serverCount"/> servers needs, so that a retry loop can
    /// <c>stackalloc ulong[PickContext.ExcludedWords(n)]</c> instead of allocating.
    /// </summary>
    public static int ExcludedWords(int serverCount) => (serverCount + 63) >> 6;

    /// <summary>Marks server <paramref name="index"/> as tried in a set built for <see cref="Excluded"/>.</summary>
    public static void Exclude(Span<ulong> excluded, int index) => excluded[index >> 6] |= 1UL << (index & 63);
}
