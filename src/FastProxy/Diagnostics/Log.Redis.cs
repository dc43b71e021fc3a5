using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>[redis] (rate_limit's shared store): one line per change of the store's state, never one per request.</summary>
internal static partial class Log
{
    public static void RedisConnected(string address, bool connected, string detail) => RedisConnectedCore(Logger, address, connected ? "connected" : "not reachable yet, retrying", detail);
    [LoggerMessage(1601, LogLevel.Information, "redis {Address}: {State}{Detail}")]
    private static partial void RedisConnectedCore(ILogger logger, string address, string state, string detail);

    public static void RedisStoreDown(string address, string reason, int failures, long probeMs) => RedisStoreDownCore(Logger, address, reason, failures, probeMs);
    [LoggerMessage(1602, LogLevel.Warning, "redis {Address}: store unavailable ({Reason}) after {Failures} failed calls in a row; rate_limit policies with store = \"redis\" apply on_store_error without calling it, one probe every {ProbeMs} ms")]
    private static partial void RedisStoreDownCore(ILogger logger, string address, string reason, int failures, long probeMs);

    public static void RedisStoreBack(string address, long downMs) => RedisStoreBackCore(Logger, address, downMs);
    [LoggerMessage(1603, LogLevel.Warning, "redis {Address}: store answering again after {DownMs} ms; rate limits enforced again")]
    private static partial void RedisStoreBackCore(ILogger logger, string address, long downMs);
}
