using FastProxy.Policies.Types.Cache;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// The cache policies' counts on /metrics, per policy (as named in the config; the counts run on across reloads):
/// requests by result, bytes and entries held, evictions. Written only once a cache policy was built.
/// </summary>
internal static class CacheMetrics
{
    public static void Write(PrometheusText w)
    {
        var all = CacheCounters.All();
        if (all.Length == 0) return;
        w.Family("fastproxy_cache_requests_total", "Requests cache policies saw, by result: hit, miss, stale (served stale), bypass (not cacheable), revalidated (a 304 refreshed the entry).", "counter");
        foreach (var c in all)
        {
            w.Sample("fastproxy_cache_requests_total").Label("policy", c.Policy).Label("result", "hit").Value(Interlocked.Read(ref c.Hits));
            w.Sample("fastproxy_cache_requests_total").Label("policy", c.Policy).Label("result", "miss").Value(Interlocked.Read(ref c.Misses));
            w.Sample("fastproxy_cache_requests_total").Label("policy", c.Policy).Label("result", "stale").Value(Interlocked.Read(ref c.Stale));
            w.Sample("fastproxy_cache_requests_total").Label("policy", c.Policy).Label("result", "bypass").Value(Interlocked.Read(ref c.Bypass));
            w.Sample("fastproxy_cache_requests_total").Label("policy", c.Policy).Label("result", "revalidated").Value(Interlocked.Read(ref c.Revalidated));
        }
        w.Family("fastproxy_cache_bytes", "Bytes a cache policy's store holds (heads, bodies, keys), at most its max_size.", "gauge");
        foreach (var c in all) w.Sample("fastproxy_cache_bytes").Label("policy", c.Policy).Value(c.Bytes);
        w.Family("fastproxy_cache_entries", "Entries a cache policy's store holds.", "gauge");
        foreach (var c in all) w.Sample("fastproxy_cache_entries").Label("policy", c.Policy).Value(c.Entries);
        w.Family("fastproxy_cache_evictions_total", "Entries a cache policy evicted to stay within max_size.", "counter");
        foreach (var c in all) w.Sample("fastproxy_cache_evictions_total").Label("policy", c.Policy).Value(c.Evictions);
    }
}
