using FastProxy.Http1;

namespace FastProxy.Forwarding;

/// <summary>
/// Request and response heads (with their field arrays) for the exchanges in progress: a keep-alive connection waiting
/// for its next request holds none (nginx frees its request state the same way). A few pairs are cached per thread (a
/// connection's request and response are handled on the socket engine's thread, which also parks them), so the steady
/// state neither locks nor allocates; the shared stack behind the caches is bounded, beyond it the GC takes them, and
/// what a burst left in it is let go once the process goes quiet (<see cref="ReleaseIdle"/>).
/// </summary>
internal static class HeadPool
{
    private const int PerThread = 8;
    private const int SharedLimit = 1024;

    [ThreadStatic] private static (RequestHead, ResponseHead)[]? t_cache;
    [ThreadStatic] private static int t_count;

    private static readonly Lock s_lock = new();
    private static readonly (RequestHead, ResponseHead)[] s_shared = new (RequestHead, ResponseHead)[SharedLimit];
    private static int s_sharedCount;
    /// <summary>Fewest pairs in the shared stack since the last quiet check.</summary>
    private static int s_sharedLow;

    /// <summary>A pair of heads, reset.</summary>
    public static (RequestHead Request, ResponseHead Response) Rent()
    {
        var cache = t_cache;
        if (cache is not null && t_count > 0)
        {
            int i = --t_count;
            var pair = cache[i];
            cache[i] = default;
            return pair;
        }
        lock (s_lock)
        {
            if (s_sharedCount > 0)
            {
                var pair = s_shared[--s_sharedCount];
                s_shared[s_sharedCount] = default;
                if (s_sharedCount < s_sharedLow) s_sharedLow = s_sharedCount;
                return pair;
            }
        }
        return (new RequestHead(), new ResponseHead());
    }

    /// <summary>Takes back a pair the caller has reset and no longer refers to.</summary>
    public static void Return(RequestHead request, ResponseHead response)
    {
        var cache = t_cache ??= new (RequestHead, ResponseHead)[PerThread];
        if (t_count < PerThread)
        {
            cache[t_count++] = (request, response);
            return;
        }
        lock (s_lock)
        {
            if (s_sharedCount < SharedLimit) s_shared[s_sharedCount++] = (request, response);
        }
    }

    /// <summary>
    /// Ends the shared stack's period since the last call (the quiet check's); with <paramref name="release"/>, lets go
    /// of the pairs that stayed in it all through that period. Returns how many.
    /// </summary>
    public static int ReleaseIdle(bool release)
    {
        lock (s_lock)
        {
            int idle = release ? s_sharedLow : 0;
            Array.Clear(s_shared, s_sharedCount - idle, idle);
            s_sharedCount -= idle;
            s_sharedLow = s_sharedCount;
            return idle;
        }
    }
}
