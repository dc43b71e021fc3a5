using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>What TLS termination logs (event ids 500-599), next to the rest in <see cref="Log"/>.</summary>
internal static partial class Log
{
    /// <summary>Debug: a port scanner or a client that does not trust the certificate is not an operator's problem.</summary>
    public static void TlsHandshakeFailed(string listener, string reason) => TlsHandshakeFailedCore(Logger, listener, reason);
    [LoggerMessage(501, LogLevel.Debug, "listener \"{Listener}\": TLS handshake failed: {Reason}")]
    private static partial void TlsHandshakeFailedCore(ILogger logger, string listener, string reason);

    /// <summary>Debug, like the failed handshake it causes: the client's certificate did not pass client_ca.</summary>
    public static void ClientCertificateRefused(string listener, string reason) => ClientCertificateRefusedCore(Logger, listener, reason);
    [LoggerMessage(503, LogLevel.Debug, "listener \"{Listener}\": client certificate refused: {Reason}")]
    private static partial void ClientCertificateRefusedCore(ILogger logger, string listener, string reason);

    /// <summary>Debug, like any failed handshake: the client is told in its own words (a 400), the operator need not be.</summary>
    public static void TlsPlainHttp(string listener) => TlsPlainHttpCore(Logger, listener);
    [LoggerMessage(502, LogLevel.Debug, "listener \"{Listener}\": plain HTTP request on a TLS port: answered 400 and closed")]
    private static partial void TlsPlainHttpCore(ILogger logger, string listener);
}
