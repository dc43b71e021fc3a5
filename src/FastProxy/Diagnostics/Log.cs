using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Diagnostics;

/// <summary>Every event the proxy logs, source-generated (no boxing, no formatting unless enabled).</summary>
internal static partial class Log
{
    public static ILogger Logger { get; set; } = NullLogger.Instance;

    public static void Listening(string listener, string endPoint, string protocol) => ListeningCore(Logger, listener, endPoint, protocol);
    [LoggerMessage(1, LogLevel.Information, "listener \"{Listener}\" on {EndPoint} ({Protocol})")]
    private static partial void ListeningCore(ILogger logger, string listener, string endPoint, string protocol);

    public static void AcceptFailed(string listener, string error) => AcceptFailedCore(Logger, listener, error);
    [LoggerMessage(2, LogLevel.Warning, "listener \"{Listener}\": accept failed: {Error}")]
    private static partial void AcceptFailedCore(ILogger logger, string listener, string error);

    public static void ConnectionFailed(string listener, Exception ex) => ConnectionFailedCore(Logger, listener, ex);
    [LoggerMessage(3, LogLevel.Error, "listener \"{Listener}\": connection failed unexpectedly")]
    private static partial void ConnectionFailedCore(ILogger logger, string listener, Exception ex);

    /// <summary>Throttled per server (<see cref="LogThrottle"/>): <paramref name="repeats"/> are the failures left out before this one.</summary>
    public static void UpstreamConnectFailed(string upstream, string server, string error, Repeats repeats) => UpstreamConnectFailedCore(Logger, upstream, server, error, repeats.Suffix);
    [LoggerMessage(4, LogLevel.Warning, "upstream \"{Upstream}\": cannot connect to {Server}: {Error}{Repeats}")]
    private static partial void UpstreamConnectFailedCore(ILogger logger, string upstream, string server, string error, string repeats);

    /// <summary>Throttled per server, as <see cref="UpstreamConnectFailed"/>.</summary>
    public static void BadUpstreamResponse(string upstream, string server, string error, Repeats repeats) => BadUpstreamResponseCore(Logger, upstream, server, error, repeats.Suffix);
    [LoggerMessage(5, LogLevel.Warning, "upstream \"{Upstream}\": malformed response from {Server}: {Error}{Repeats}")]
    private static partial void BadUpstreamResponseCore(ILogger logger, string upstream, string server, string error, string repeats);

    /// <summary>Throttled per server, as <see cref="UpstreamConnectFailed"/>.</summary>
    public static void UpstreamTimeout(string upstream, string server, string which, Repeats repeats) => UpstreamTimeoutCore(Logger, upstream, server, which, repeats.Suffix);
    [LoggerMessage(6, LogLevel.Warning, "upstream \"{Upstream}\": no response from {Server} within {Which}{Repeats}")]
    private static partial void UpstreamTimeoutCore(ILogger logger, string upstream, string server, string which, string repeats);

    public static void Started(string config, int listeners, long startupMs) => StartedCore(Logger, config, listeners, startupMs);
    [LoggerMessage(7, LogLevel.Information, "fastproxy started with {Config}: {Listeners} listener(s) in {StartupMs} ms")]
    private static partial void StartedCore(ILogger logger, string config, int listeners, long startupMs);

    public static void Stopping(string reason, int connections) => StoppingCore(Logger, reason, connections);
    [LoggerMessage(8, LogLevel.Information, "stopping ({Reason}): draining {Connections} connection(s)")]
    private static partial void StoppingCore(ILogger logger, string reason, int connections);

    public static void Stopped(int abandoned) => StoppedCore(Logger, abandoned);
    [LoggerMessage(9, LogLevel.Information, "stopped; {Abandoned} connection(s) cut at shutdown_timeout")]
    private static partial void StoppedCore(ILogger logger, int abandoned);

    public static void Reloaded(string config) => ReloadedCore(Logger, config);
    [LoggerMessage(10, LogLevel.Information, "reloaded {Config}")]
    private static partial void ReloadedCore(ILogger logger, string config);

    public static void ReloadRefused(string problem) => ReloadRefusedCore(Logger, problem);
    [LoggerMessage(11, LogLevel.Error, "reload refused, the old configuration keeps serving: {Problem}")]
    private static partial void ReloadRefusedCore(ILogger logger, string problem);

    public static void RebindFailed(string problem) => RebindFailedCore(Logger, problem);
    [LoggerMessage(19, LogLevel.Error, "reload refused, and an old listener could not be bound again where it was: {Problem}")]
    private static partial void RebindFailedCore(ILogger logger, string problem);

    public static void ConfigWarning(string warning) => ConfigWarningCore(Logger, warning);
    [LoggerMessage(12, LogLevel.Warning, "{Warning}")]
    private static partial void ConfigWarningCore(ILogger logger, string warning);

    public static void RequestRejected(string listener, int status, FastProxy.Http1.HeadError reason) => RequestRejectedCore(Logger, listener, status, reason);
    [LoggerMessage(13, LogLevel.Debug, "listener \"{Listener}\": request rejected with {Status}: {Reason}")]
    private static partial void RequestRejectedCore(ILogger logger, string listener, int status, FastProxy.Http1.HeadError reason);

    public static void ServerEjected(string upstream, string server, long durationMs, int ejections) => ServerEjectedCore(Logger, upstream, server, durationMs, ejections);
    [LoggerMessage(14, LogLevel.Warning, "upstream \"{Upstream}\": {Server} ejected for {DurationMs} ms (ejection {Ejections}) after consecutive failures")]
    private static partial void ServerEjectedCore(ILogger logger, string upstream, string server, long durationMs, int ejections);

    public static void ServerReturned(string upstream, string server) => ServerReturnedCore(Logger, upstream, server);
    [LoggerMessage(15, LogLevel.Information, "upstream \"{Upstream}\": {Server} back from ejection")]
    private static partial void ServerReturnedCore(ILogger logger, string upstream, string server);

    public static void EjectionRefused(string upstream, string server, int percent) => EjectionRefusedCore(Logger, upstream, server, percent);
    [LoggerMessage(16, LogLevel.Warning, "upstream \"{Upstream}\": {Server} keeps failing but is not ejected: max_ejected_percent ({Percent}) reached")]
    private static partial void EjectionRefusedCore(ILogger logger, string upstream, string server, int percent);

    public static void HealthChanged(string upstream, string server, bool up, string detail) => HealthChangedCore(Logger, upstream, server, up ? "up" : "down", detail);
    [LoggerMessage(17, LogLevel.Warning, "upstream \"{Upstream}\": {Server} is {State} ({Detail})")]
    private static partial void HealthChangedCore(ILogger logger, string upstream, string server, string state, string detail);

    /// <summary>
    /// The heartbeat's line for throttled failures that no later failure reported: what <paramref name="kind"/> says,
    /// how many, over how long.
    /// </summary>
    /// <param name="server">Null for failures of the whole upstream (<see cref="RepeatedFailure.NoServer"/>).</param>
    public static void FailuresSuppressed(string upstream, string? server, RepeatedFailure kind, Repeats repeats)
        => FailuresSuppressedCore(Logger, upstream, repeats.Count, kind switch
        {
            RepeatedFailure.Connect => $"failed connects to {server}",
            RepeatedFailure.Response => $"malformed responses from {server}",
            RepeatedFailure.Timeout => $"response timeouts of {server}",
            _ => "tcp connections closed because no server could be connected",
        }, repeats.Seconds);
    [LoggerMessage(20, LogLevel.Warning, "upstream \"{Upstream}\": {Count} more {What} in the last {Seconds}s (one line per 10s)")]
    private static partial void FailuresSuppressedCore(ILogger logger, string upstream, int count, string what, long seconds);

    public static void AdminListening(string endPoint) => AdminListeningCore(Logger, endPoint);
    [LoggerMessage(18, LogLevel.Information, "admin listener on {EndPoint}")]
    private static partial void AdminListeningCore(ILogger logger, string endPoint);

    public static void TunnelIdleTimeout(string listener) => TunnelIdleTimeoutCore(Logger, listener);
    [LoggerMessage(30, LogLevel.Debug, "listener \"{Listener}\": upgraded connection closed after idle_timeout")]
    private static partial void TunnelIdleTimeoutCore(ILogger logger, string listener);

    public static void Http2ConnectionError(string listener, string code, string reason) => Http2ConnectionErrorCore(Logger, listener, code, reason);
    [LoggerMessage(601, LogLevel.Debug, "listener \"{Listener}\": HTTP/2 connection error {Code} ({Reason}): GOAWAY")]
    private static partial void Http2ConnectionErrorCore(ILogger logger, string listener, string code, string reason);

    public static void Http2StreamRefused(string listener, int stream, string reason) => Http2StreamRefusedCore(Logger, listener, stream, reason);
    [LoggerMessage(602, LogLevel.Debug, "listener \"{Listener}\": HTTP/2 stream {Stream} malformed ({Reason}): RST_STREAM")]
    private static partial void Http2StreamRefusedCore(ILogger logger, string listener, int stream, string reason);

    public static void MemoryReclaimed(long releasedKiB, long committedKiB, long afterKiB, long pauseMs) => MemoryReclaimedCore(Logger, releasedKiB, committedKiB, afterKiB, pauseMs);
    [LoggerMessage(21, LogLevel.Debug, "quiet after a burst: about {ReleasedKiB} KiB of pooled memory let go and collected; GC heap committed {CommittedKiB} -> {AfterKiB} KiB, {PauseMs} ms")]
    private static partial void MemoryReclaimedCore(ILogger logger, long releasedKiB, long committedKiB, long afterKiB, long pauseMs);
}
