using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>Upstream discovery (DNS, servers_file): one line per change of state, never one per resolution.</summary>
internal static partial class Log
{
    public static void ServersChanged(string upstream, string source, int added, int removed, int total) => ServersChangedCore(Logger, upstream, source, added, removed, total);
    [LoggerMessage(1951, LogLevel.Information, "upstream \"{Upstream}\": servers changed ({Source}): {Added} added, {Removed} removed, {Total} in use")]
    private static partial void ServersChangedCore(ILogger logger, string upstream, string source, int added, int removed, int total);

    public static void ResolveFailed(string upstream, string name, string reason, int kept) => ResolveFailedCore(Logger, upstream, name, reason, kept);
    [LoggerMessage(1952, LogLevel.Warning, "upstream \"{Upstream}\": {Name} does not resolve ({Reason}); its last {Kept} address(es) stay in use until it does")]
    private static partial void ResolveFailedCore(ILogger logger, string upstream, string name, string reason, int kept);

    public static void ResolveRecovered(string upstream, string name, int addresses) => ResolveRecoveredCore(Logger, upstream, name, addresses);
    [LoggerMessage(1953, LogLevel.Information, "upstream \"{Upstream}\": {Name} resolves again ({Addresses} address(es))")]
    private static partial void ResolveRecoveredCore(ILogger logger, string upstream, string name, int addresses);

    public static void ServersFileRefused(string upstream, string problems) => ServersFileRefusedCore(Logger, upstream, problems);
    [LoggerMessage(1954, LogLevel.Error, "upstream \"{Upstream}\": servers_file refused, the servers in use stay: {Problems}")]
    private static partial void ServersFileRefusedCore(ILogger logger, string upstream, string problems);

    public static void ServersFileAccepted(string upstream, string file) => ServersFileAcceptedCore(Logger, upstream, file);
    [LoggerMessage(1955, LogLevel.Information, "upstream \"{Upstream}\": servers_file {File} is valid again")]
    private static partial void ServersFileAcceptedCore(ILogger logger, string upstream, string file);

    public static void WatchFailed(string file, string reason) => WatchFailedCore(Logger, file, reason);
    [LoggerMessage(1956, LogLevel.Warning, "cannot watch {File} for changes ({Reason}); it is polled every 2 s instead")]
    private static partial void WatchFailedCore(ILogger logger, string file, string reason);
}
