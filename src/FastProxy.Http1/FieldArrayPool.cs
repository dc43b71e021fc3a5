namespace FastProxy.Http1;

/// <summary>
/// Field arrays for <see cref="MessageHead"/>s that are parsing a message; a head waiting for its next message gives
/// its array back (<see cref="MessageHead.ReleaseFields"/>). A few arrays are cached per thread: a connection's
/// request is parsed, and its response head read, on the socket engine's thread, which also returns them, so the
/// steady state neither locks nor allocates. The shared stack behind the caches is bounded: after a burst, arrays
/// beyond it are left to the GC.
/// </summary>
internal static class FieldArrayPool
{
    /// <summary>Enough for most requests and responses (browsers send 10 to 20 fields; nginx answers with about 7).</summary>
    public const int InitialLength = 16;

    private const int PerThread = 8;
    private const int SharedLimit = 1024;

    [ThreadStatic] private static HeaderField[]?[]? t_cache;
    [ThreadStatic] private static int t_count;

    private static readonly Lock s_lock = new();
    private static readonly HeaderField[]?[] s_shared = new HeaderField[]?[SharedLimit];
    private static int s_sharedCount;

    public static HeaderField[] Rent()
    {
        var cache = t_cache;
        if (cache is not null && t_count > 0)
        {
            int i = --t_count;
            var array = cache[i]!;
            cache[i] = null;
            return array;
        }
        lock (s_lock)
        {
            if (s_sharedCount > 0)
            {
                var array = s_shared[--s_sharedCount]!;
                s_shared[s_sharedCount] = null;
                return array;
            }
        }
        return new HeaderField[InitialLength];
    }

    public static void Return(HeaderField[] array)
    {
        var cache = t_cache ??= new HeaderField[]?[PerThread];
        if (t_count < PerThread)
        {
            cache[t_count++] = array;
            return;
        }
        lock (s_lock)
        {
            if (s_sharedCount < SharedLimit) s_shared[s_sharedCount++] = array;
        }
    }
}
