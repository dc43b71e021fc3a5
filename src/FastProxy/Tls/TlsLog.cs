using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>What TLS termination logs (event ids 500-599), next to the rest in <see cref="Log"/>.</summary>
internal static partial class Log
{
    /// <summary>Debug: a port scanner or a client that does not trust the certificate is not an operator's problem.</summary>
    public static void TlsHandshakeFailed(string listener, string reason) => TlsHandshakeFailedCore(Logger, listener, reason);
    [LoggerMessage(501, LogLevel.Debug, "listener \"{Listener}\": TLS handshake failed: {Reason}")]
    private static partial void TlsHandshakeFailedCore(ILogger logger, string listener, string reason);
}
