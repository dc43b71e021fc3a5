namespace FastProxy.Observability.AccessLog;

/// <summary>
/// Process-wide access log counts, for /metrics: fastproxy_access_log_lines_total (lines written) and
/// fastproxy_access_log_dropped_total (lines dropped because the queue was full, or the output failed).
/// </summary>
public static class AccessLogCounters
{
    internal static long s_lines;
    internal static long s_dropped;

    public static long Lines => Volatile.Read(ref s_lines);

    public static long Dropped => Volatile.Read(ref s_dropped);
}
