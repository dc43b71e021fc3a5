using System.Text;
using FastProxy.Tcp;
using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>What tcp listeners log (event ids 400-499), next to the rest in <see cref="Log"/>.</summary>
internal static partial class Log
{
    public static void TcpHelloRejected(string listener, HelloError reason) => TcpHelloRejectedCore(Logger, listener, reason);
    [LoggerMessage(401, LogLevel.Debug, "listener \"{Listener}\": connection closed before routing: {Reason}")]
    private static partial void TcpHelloRejectedCore(ILogger logger, string listener, HelloError reason);

    /// <summary>The name becomes a string only when debug logging is on.</summary>
    public static void TcpNoRoute(string listener, ReadOnlySpan<byte> serverName)
    {
        if (!Logger.IsEnabled(LogLevel.Debug)) return;
        TcpNoRouteCore(Logger, listener, serverName.IsEmpty ? "(none)" : Encoding.ASCII.GetString(serverName));
    }
    [LoggerMessage(402, LogLevel.Debug, "listener \"{Listener}\": no route for server name {ServerName} and no upstream on the listener: connection closed")]
    private static partial void TcpNoRouteCore(ILogger logger, string listener, string serverName);

    /// <summary>Throttled per upstream (<see cref="LogThrottle"/>).</summary>
    public static void TcpNoServer(string listener, string upstream, Repeats repeats) => TcpNoServerCore(Logger, listener, upstream, repeats.Suffix);
    [LoggerMessage(403, LogLevel.Warning, "listener \"{Listener}\": no server of upstream \"{Upstream}\" could be connected: connection closed{Repeats}")]
    private static partial void TcpNoServerCore(ILogger logger, string listener, string upstream, string repeats);

    public static void TcpIdleTimeout(string listener) => TcpIdleTimeoutCore(Logger, listener);
    [LoggerMessage(404, LogLevel.Debug, "listener \"{Listener}\": connection closed after idle_timeout")]
    private static partial void TcpIdleTimeoutCore(ILogger logger, string listener);
}
