namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// A cache policy's counts, by name, kept across reloads (Prometheus counters run on), and the store it uses now
/// (for the bytes and entries gauges). The metrics exporter reads them all through <see cref="All"/>.
/// </summary>
public sealed class CacheCounters
{
    private static readonly List<CacheCounters> s_all = [];

    private CacheCounters(string policy) => Policy = policy;

    public string Policy { get; }
    public long Hits;
    public long Misses;
    public long Stale;
    public long Bypass;
    public long Revalidated;
    internal CacheStore? Store;

    public long Bytes => Store?.Bytes ?? 0;
    public long Entries => Store?.Count ?? 0;
    public long Evictions => _evictionsBefore + (Store?.Evictions ?? 0);
    private long _evictionsBefore;

    internal void Use(CacheStore store)
    {
        if (Store == store) return;
        if (Store is not null) _evictionsBefore += Store.Evictions;
        Store = store;
    }

    public static CacheCounters For(string policy)
    {
        lock (s_all)
        {
            foreach (var c in s_all) if (c.Policy == policy) return c;
            var counters = new CacheCounters(policy);
            s_all.Add(counters);
            return counters;
        }
    }

    public static CacheCounters[] All()
    {
        lock (s_all) return [.. s_all];
    }
}
