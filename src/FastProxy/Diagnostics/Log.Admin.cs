using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>What operators do through the admin listener: 8xx.</summary>
internal static partial class Log
{
    /// <summary>A server drained or enabled again through POST /upstreams/NAME/servers/ADDRESS/drain or /enable.</summary>
    public static void ServerDrainChanged(string upstream, string server, bool drained, string client)
        => ServerDrainChangedCore(Logger, upstream, server, drained ? "drained: no new requests" : "enabled: back in rotation", client);
    [LoggerMessage(801, LogLevel.Information, "upstream \"{Upstream}\": {Server} {What} (admin request from {Client})")]
    private static partial void ServerDrainChangedCore(ILogger logger, string upstream, string server, string what, string client);

    /// <summary>A state-changing admin request refused (no or wrong token, or no token set on a non-loopback listener).</summary>
    public static void AdminRefused(string method, string path, int status, string client)
        => AdminRefusedCore(Logger, method, path, status, client);
    [LoggerMessage(802, LogLevel.Warning, "admin request {Method} {Path} from {Client} refused with {Status}")]
    private static partial void AdminRefusedCore(ILogger logger, string method, string path, int status, string client);
}
