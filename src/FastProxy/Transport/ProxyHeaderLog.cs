using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>What PROXY protocol listeners log (event ids 700-799), next to the rest in <see cref="Log"/>.</summary>
internal static partial class Log
{
    /// <summary>Throttled per listener: a load balancer missing from trusted_proxies fails every connection.</summary>
    public static void ProxyPeerUntrusted(string listener, string peer, Repeats repeats) => ProxyPeerUntrustedCore(Logger, listener, peer, repeats.Suffix);
    [LoggerMessage(701, LogLevel.Warning, "listener \"{Listener}\": connection from {Peer} closed: PROXY protocol is accepted only from [client_ip] trusted_proxies{Repeats}")]
    private static partial void ProxyPeerUntrustedCore(ILogger logger, string listener, string peer, string repeats);

    /// <summary>Throttled per listener: a sender that does not speak the protocol fails every connection.</summary>
    public static void ProxyHeaderRefused(string listener, string peer, string reason, Repeats repeats) => ProxyHeaderRefusedCore(Logger, listener, peer, reason, repeats.Suffix);
    [LoggerMessage(702, LogLevel.Warning, "listener \"{Listener}\": connection from {Peer} closed: {Reason}{Repeats}")]
    private static partial void ProxyHeaderRefusedCore(ILogger logger, string listener, string peer, string reason, string repeats);

    /// <summary>Debug: a connection that ended on the peer's side before its header (a TCP health check, a reset).</summary>
    public static void ProxyHeaderAbandoned(string listener, string reason) => ProxyHeaderAbandonedCore(Logger, listener, reason);
    [LoggerMessage(703, LogLevel.Debug, "listener \"{Listener}\": connection closed before its PROXY protocol header: {Reason}")]
    private static partial void ProxyHeaderAbandonedCore(ILogger logger, string listener, string reason);

    /// <summary>The heartbeat's line for a listener's throttled failures that no later failure reported.</summary>
    public static void ListenerFailuresSuppressed(string listener, RepeatedFailure kind, Repeats repeats)
        => ListenerFailuresSuppressedCore(Logger, listener, repeats.Count, kind == RepeatedFailure.UntrustedPeer
            ? "connections from peers outside trusted_proxies closed"
            : "connections closed for a missing, malformed or late PROXY protocol header", repeats.Seconds);
    [LoggerMessage(704, LogLevel.Warning, "listener \"{Listener}\": {Count} more {What} in the last {Seconds}s (one line per 10s)")]
    private static partial void ListenerFailuresSuppressedCore(ILogger logger, string listener, int count, string what, long seconds);
}
