namespace FastProxy.Observability.Tracing;

/// <summary>
/// What span export did, for the whole process (plain Interlocked counters, read at scrape time). Suggested metric
/// names: fastproxy_tracing_spans_exported_total, fastproxy_tracing_spans_dropped_total (the queue was full),
/// fastproxy_tracing_spans_failed_total (the collector refused them or could not be reached).
/// </summary>
internal static class TracingCounters
{
    private static long s_exported, s_dropped, s_failed;

    public static long SpansExported => Volatile.Read(ref s_exported);
    public static long SpansDropped => Volatile.Read(ref s_dropped);
    public static long SpansFailed => Volatile.Read(ref s_failed);

    public static void Exported(int spans) => Interlocked.Add(ref s_exported, spans);
    public static void Dropped(int spans) => Interlocked.Add(ref s_dropped, spans);
    public static void Failed(int spans) => Interlocked.Add(ref s_failed, spans);

    /// <summary>Puts the three counts on /metrics (always shown; 0 while nothing is exported).</summary>
    public static void Register()
    {
        Metrics.ExternalMetrics.AddCounter("fastproxy_tracing_spans_exported_total", "Spans the OTLP/HTTP exporter delivered.", () => SpansExported);
        Metrics.ExternalMetrics.AddCounter("fastproxy_tracing_spans_dropped_total", "Spans dropped because the export queue was full.", () => SpansDropped);
        Metrics.ExternalMetrics.AddCounter("fastproxy_tracing_spans_failed_total", "Spans lost because the collector refused them or could not be reached.", () => SpansFailed);
    }
}
