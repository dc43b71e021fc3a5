using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

internal static partial class Log
{
    public static void CachePurged(string what, bool prefix, int purged, string client)
        => CachePurgedCore(Logger, prefix ? "prefix" : "key", what, purged, client);
    [LoggerMessage(1801, LogLevel.Information, "cache purge by {Kind} \"{What}\": {Purged} entries removed (admin client {Client})")]
    private static partial void CachePurgedCore(ILogger logger, string kind, string what, int purged, string client);
}
