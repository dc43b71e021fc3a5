using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>The ingress controller (`fastproxy ingress`, src/FastProxy/Kubernetes).</summary>
internal static partial class Log
{
    public static void IngressWatch(string kind, string what) => IngressWatchCore(Logger, kind, what);
    [LoggerMessage(1901, LogLevel.Information, "ingress: {Kind}: {What}")]
    private static partial void IngressWatchCore(ILogger logger, string kind, string what);

    public static void IngressWatchFailed(string kind, string error, long retryMs) => IngressWatchFailedCore(Logger, kind, error, retryMs);
    [LoggerMessage(1902, LogLevel.Warning, "ingress: {Kind}: {Error}; serving the last known state, retrying in {RetryMs} ms")]
    private static partial void IngressWatchFailedCore(ILogger logger, string kind, string error, long retryMs);

    public static void IngressApplied(int ingresses, int routes, int upstreams, int servers) => IngressAppliedCore(Logger, ingresses, routes, upstreams, servers);
    [LoggerMessage(1903, LogLevel.Information, "ingress: serving {Ingresses} Ingress(es): {Routes} route(s), {Upstreams} upstream(s), {Servers} endpoint(s)")]
    private static partial void IngressAppliedCore(ILogger logger, int ingresses, int routes, int upstreams, int servers);

    public static void IngressProblem(string ingress, string reason, string message) => IngressProblemCore(Logger, ingress, reason, message);
    [LoggerMessage(1904, LogLevel.Warning, "ingress {Ingress}: {Reason}: {Message}")]
    private static partial void IngressProblemCore(ILogger logger, string ingress, string reason, string message);

    public static void IngressApplyFailed(string error) => IngressApplyFailedCore(Logger, error);
    [LoggerMessage(1905, LogLevel.Error, "ingress: the translated configuration was refused, the previous one keeps serving: {Error}")]
    private static partial void IngressApplyFailedCore(ILogger logger, string error);

    public static void IngressLeader(string identity, string lease, string what) => IngressLeaderCore(Logger, identity, lease, what);
    [LoggerMessage(1906, LogLevel.Information, "ingress: {Identity} {What} the lease {Lease}")]
    private static partial void IngressLeaderCore(ILogger logger, string identity, string lease, string what);

    public static void IngressApiFailed(string what, string error) => IngressApiFailedCore(Logger, what, error);
    [LoggerMessage(1907, LogLevel.Warning, "ingress: {What} failed: {Error}")]
    private static partial void IngressApiFailedCore(ILogger logger, string what, string error);
}
