using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>The request record's observers and the metrics registry: 85x.</summary>
internal static partial class Log
{
    /// <summary>A request observer threw; the request it was told about is not affected.</summary>
    public static void ObserverFailed(string observer, Exception ex) => ObserverFailedCore(Logger, observer, ex);
    [LoggerMessage(850, LogLevel.Error, "request observer {Observer} failed")]
    private static partial void ObserverFailedCore(ILogger logger, string observer, Exception ex);

    /// <summary>A counter registered by another part of the proxy threw when read for a scrape: it is left out of that scrape.</summary>
    public static void MetricReadFailed(string metric, Exception ex) => MetricReadFailedCore(Logger, metric, ex);
    [LoggerMessage(851, LogLevel.Warning, "metric {Metric} could not be read")]
    private static partial void MetricReadFailedCore(ILogger logger, string metric, Exception ex);
}
