namespace FastProxy.Outbound.Redis;

/// <summary>
/// Per rate_limit policy with store = "redis": how many requests met a store error (Redis down, too slow, breaker
/// open), and whether the breaker is open now. The same object across reloads while the policy keeps its name, so the
/// count runs on like a Prometheus counter. Exported as <c>fastproxy_rate_limit_store_errors_total{policy}</c> and
/// <c>fastproxy_rate_limit_store_breaker_open{policy}</c> (0/1); registered with ExternalMetrics when first built.
/// </summary>
public sealed class RateLimitStoreCounters
{
    private static readonly List<RateLimitStoreCounters> s_all = [];
    private long _errors;
    private volatile RedisBreaker? _breaker;

    private RateLimitStoreCounters(string policy) => Policy = policy;

    public string Policy { get; }

    /// <summary>Requests that got a store error (the policy's on_store_error applied to them).</summary>
    public long StoreErrors => Volatile.Read(ref _errors);

    /// <summary>True while the breaker in front of the policy's Redis is open (calls are not made).</summary>
    public bool BreakerOpen => _breaker?.IsOpen == true;

    internal void StoreError() => Interlocked.Increment(ref _errors);

    internal static RateLimitStoreCounters For(string policy, RedisBreaker breaker)
    {
        lock (s_all)
        {
            foreach (var c in s_all)
            {
                if (c.Policy == policy)
                {
                    c._breaker = breaker;
                    return c;
                }
            }
            var counters = new RateLimitStoreCounters(policy) { _breaker = breaker };
            s_all.Add(counters);
            Observability.Metrics.ExternalMetrics.AddCounter("fastproxy_rate_limit_store_errors_total",
                "Requests whose rate_limit policy met a Redis store error (down, slower than [redis] timeout, or breaker open); on_store_error applied.",
                () => counters.StoreErrors, ("policy", policy));
            Observability.Metrics.ExternalMetrics.AddGauge("fastproxy_rate_limit_store_breaker_open",
                "1 while the breaker in front of the policy's Redis is open (no calls are made), else 0.",
                () => counters.BreakerOpen ? 1 : 0, ("policy", policy));
            return counters;
        }
    }

    public static RateLimitStoreCounters[] All()
    {
        lock (s_all) return [.. s_all];
    }
}
