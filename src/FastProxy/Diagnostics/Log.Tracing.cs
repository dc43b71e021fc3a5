using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>Span export: 87x.</summary>
internal static partial class Log
{
    /// <summary>A batch of spans could not be exported (logged at most once a minute; every failed span is counted).</summary>
    public static void TraceExportFailed(string target, string reason) => TraceExportFailedCore(Logger, target, reason);
    [LoggerMessage(870, LogLevel.Warning, "tracing: spans could not be exported to {Target} ({Reason}); they are dropped and counted, requests are not affected")]
    private static partial void TraceExportFailedCore(ILogger logger, string target, string reason);
}
