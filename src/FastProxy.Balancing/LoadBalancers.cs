using System.Diagnostics;

namespace FastProxy.Balancing;

/// <summary>
/// Creates the balancer named by the <c>balance</c> key of an upstream in proxy.toml.
/// </summary>
public static class LoadBalancers
{
    public const string RoundRobin = "round_robin";
    public const string LeastConn = "least_conn";
    public const string IpHash = "ip_hash";
    public const string Weighted = "weighted";

    /// <summary>Every name <see cref="Create"/> accepts, in the order documented for proxy.toml.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = [RoundRobin, LeastConn, IpHash, Weighted];

    /// <summary>Whether <paramref name="name"/> names an algorithm (exact, case-sensitive, as TOML keys are).</summary>
    public static bool IsKnown(string? name) =>
        name is RoundRobin or LeastConn or IpHash or Weighted;

    /// <summary>
    /// Creates a balancer over <paramref name="servers"/>, where <c>servers[i].Index == i</c>; a pick returns
    /// that index. The array is copied, so the caller may reuse it.
    /// </summary>
    /// <param name="name">One of <see cref="KnownNames"/>.</param>
    /// <param name="servers">The upstream's servers in configuration order.</param>
    /// <param name="metric">What least_conn counts; ignored by the other algorithms.</param>
    /// <param name="previous">
    /// The balancer this one replaces after a server-set change (reload, DNS or file discovery), or null. The new
    /// balancer goes on from its state for the servers that stay, matched by <see cref="BalancedServer.Address"/>:
    /// round_robin's and least_conn's rotation resumes at the server the old one would have picked next (or the next
    /// one that stays), weighted's smooth-weight values carry over. The counters least_conn and p2c read (in flight,
    /// open connections, response times) live with the servers, not the balancer: to keep them, build each staying
    /// address's new <see cref="BalancedServer"/> with <c>carriedFrom</c> = its old one (or reuse the old object at
    /// the same position) — see <see cref="BalancedServer(int, string, int, BalancedServer?)"/>. ip_hash and
    /// consistent_hash derive everything from the addresses, so they need nothing carried.
    /// </param>
    /// <exception cref="ArgumentException">Unknown name, or a server whose index is not its position.</exception>
    public static ILoadBalancer Create(string name, BalancedServer[] servers, LoadMetric metric = LoadMetric.InFlightRequests,
        ILoadBalancer? previous = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(servers);
        if (!IsKnown(name))
        {
            throw new ArgumentException(
                $"Unknown load-balancing algorithm '{name}'. Known: {string.Join(", ", KnownNames)}.", nameof(name));
        }

        if (!Enum.IsDefined(metric))
        {
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown load metric.");
        }

        BalancedServer[] copy = [.. servers];
        for (int i = 0; i < copy.Length; i++)
        {
            BalancedServer? server = copy[i];
            if (server is null)
            {
                throw new ArgumentException($"Server {i} is null.", nameof(servers));
            }

            if (server.Index != i)
            {
                throw new ArgumentException(
                    $"Server {server.Address} has index {server.Index} but is at position {i}; a pick returns the position.",
                    nameof(servers));
            }
        }

        // The trivial sizes are settled once here, so no algorithm carries a special case for them.
        switch (copy.Length)
        {
            case 0:
                return new NoServerBalancer(name);
            case 1:
                return new SingleServerBalancer(name, copy[0]);
        }

        return name switch
        {
            RoundRobin => new RoundRobinBalancer(copy, CarriedState.StartPosition(copy, previous)),
            LeastConn => new LeastConnBalancer(copy, metric, CarriedState.StartPosition(copy, previous)),
            IpHash => new IpHashBalancer(copy),
            Weighted => new WeightedBalancer(copy, previous),
            _ => throw new UnreachableException(),
        };
    }
}
