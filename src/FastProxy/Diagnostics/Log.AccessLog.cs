using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>What the access log's writer says about itself (event ids 1500-1599).</summary>
internal static partial class Log
{
    public static void AccessLogOpened(string path, string format) => AccessLogOpenedCore(Logger, path, format);
    [LoggerMessage(1501, LogLevel.Information, "access log: {Path} ({Format})")]
    private static partial void AccessLogOpenedCore(ILogger logger, string path, string format);

    public static void AccessLogReopened(string path) => AccessLogReopenedCore(Logger, path);
    [LoggerMessage(1502, LogLevel.Information, "access log: reopened {Path}")]
    private static partial void AccessLogReopenedCore(ILogger logger, string path);

    public static void AccessLogReopenFailed(string path, string error) => AccessLogReopenFailedCore(Logger, path, error);
    [LoggerMessage(1503, LogLevel.Error, "access log: cannot reopen {Path}, still writing to the file already open: {Error}")]
    private static partial void AccessLogReopenFailedCore(ILogger logger, string path, string error);

    /// <summary>Once per failing spell, not per batch.</summary>
    public static void AccessLogWriteFailed(string path, string error) => AccessLogWriteFailedCore(Logger, path, error);
    [LoggerMessage(1504, LogLevel.Error, "access log: cannot write to {Path}, lines are dropped (counted) until it works again: {Error}")]
    private static partial void AccessLogWriteFailedCore(ILogger logger, string path, string error);

    public static void AccessLogRecovered(string path) => AccessLogRecoveredCore(Logger, path);
    [LoggerMessage(1505, LogLevel.Information, "access log: writing to {Path} again")]
    private static partial void AccessLogRecoveredCore(ILogger logger, string path);

    public static void AccessLogOpenFailed(string path, string error) => AccessLogOpenFailedCore(Logger, path, error);
    [LoggerMessage(1506, LogLevel.Error, "access log: cannot open {Path}, the old access log configuration stays: {Error}")]
    private static partial void AccessLogOpenFailedCore(ILogger logger, string path, string error);

    /// <summary>At stop and when a reload replaces the log: the process's totals so far (also fastproxy_access_log_*_total).</summary>
    public static void AccessLogClosed(string path, long lines, long dropped) => AccessLogClosedCore(Logger, path, lines, dropped);
    [LoggerMessage(1507, LogLevel.Information, "access log: {Lines} line(s) written, {Dropped} dropped (queue full or output failing) since start; closed {Path}")]
    private static partial void AccessLogClosedCore(ILogger logger, string path, long lines, long dropped);
}
