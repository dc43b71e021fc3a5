using System.Net.Security;

namespace FastProxy.Tls;

/// <summary>The application protocols offered by ALPN (RFC 7301) on TLS listeners.</summary>
internal static class TlsAlpn
{
    /// <summary>
    /// http listeners. Only HTTP/1.1 is served today, so only it is offered: offering h2 without serving it would
    /// make clients that pick it fail. When HTTP/2 lands, put <see cref="SslApplicationProtocol.Http2"/> first here and
    /// dispatch on <see cref="SslStream.NegotiatedApplicationProtocol"/> after the handshake
    /// (see Http1Connection.HandshakeAsync).
    /// </summary>
    public static readonly List<SslApplicationProtocol> Http = [SslApplicationProtocol.Http11];
}
