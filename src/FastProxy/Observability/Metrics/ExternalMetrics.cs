namespace FastProxy.Observability.Metrics;

/// <summary>
/// Counters and gauges that other parts of the proxy keep themselves (the access log's lines and drops, the rate-limit
/// store's errors and breaker...), read when /metrics is scraped. Process-wide: register once (at start, or when the
/// feature is built; registering the same name and labels again replaces the reader, so a reload may re-register).
/// The reader runs on the admin listener's thread at each scrape: it must be cheap and thread-safe (a Volatile or
/// Interlocked read of a long).
/// </summary>
/// <example>
/// <code>ExternalMetrics.AddCounter("fastproxy_access_log_dropped_total", "Access log lines dropped because the buffer was full.", () => Volatile.Read(ref s_dropped));</code>
/// <code>ExternalMetrics.AddGauge("fastproxy_rate_limit_store_breaker_open", "1 while the Redis store's breaker is open.", () => breaker.Open ? 1 : 0, ("policy", name));</code>
/// </example>
public static class ExternalMetrics
{
    internal sealed record Entry(string Name, string Help, string Type, (string Name, string Value)[] Labels, Func<double> Read)
    {
        public string Key { get; } = Name + "\u0000" + string.Join("\u0000", Labels.Select(l => l.Name + "=" + l.Value));
    }

    private static readonly Lock s_lock = new();
    private static Entry[] s_entries = [];

    /// <summary>A monotonically increasing count; <paramref name="name"/> should end in _total.</summary>
    public static void AddCounter(string name, string help, Func<long> read, params (string Name, string Value)[] labels)
        => Add(new Entry(name, help, "counter", labels, () => read()));

    /// <summary>A value that goes up and down.</summary>
    public static void AddGauge(string name, string help, Func<double> read, params (string Name, string Value)[] labels)
        => Add(new Entry(name, help, "gauge", labels, read));

    /// <summary>Takes a registration out (a feature turned off by a reload).</summary>
    public static void Remove(string name, params (string Name, string Value)[] labels)
    {
        var key = new Entry(name, "", "", labels, static () => 0).Key;
        lock (s_lock) s_entries = [.. s_entries.Where(e => e.Key != key)];
    }

    private static void Add(Entry entry)
    {
        if (!entry.Name.StartsWith("fastproxy_", StringComparison.Ordinal)) throw new ArgumentException($"metric {entry.Name}: names start with fastproxy_");
        lock (s_lock)
        {
            var rest = s_entries.Where(e => e.Key != entry.Key);
            s_entries = [.. rest, entry];
        }
    }

    /// <summary>Every registration, grouped by name in registration order of each name's first entry.</summary>
    internal static Entry[] Snapshot()
    {
        var entries = Volatile.Read(ref s_entries);
        var order = new List<string>();
        foreach (var e in entries)
            if (!order.Contains(e.Name)) order.Add(e.Name);
        return [.. order.SelectMany(name => entries.Where(e => e.Name == name))];
    }
}
