using System.Net.Security;
using System.Net.Sockets;
using System.Buffers;
using System.Text;
using FastProxy.Diagnostics;
using FastProxy.Tls;
using FastProxy.Transport;

namespace FastProxy.Tcp;

internal sealed partial class TcpConnection
{
    /// <summary>The client's socket while its TLS handshake runs (listeners that terminate TLS), so Abort reaches it.</summary>
    private Socket? _handshakeSocket;

    /// <summary>The name the client asked for in its handshake, for SNI routes on a terminating listener.</summary>
    private string? _serverName;

    /// <summary>The verified subject of the client certificate when the listener asks for one (client_ca).</summary>
    public string? ClientCertificateSubject { get; private set; }

    /// <summary>
    /// TLS termination on a tcp listener: TLS in, plain bytes out. The handshake must finish within header_timeout (as
    /// the ClientHello must on a passthrough listener); no ALPN is offered, the stream is opaque. False: the handshake
    /// failed or stalled, and the socket is closed (this connection only).
    /// </summary>
    private async Task<bool> HandshakeAsync(TlsServer tls)
    {
        var socket = _handshakeSocket!;
        var ssl = await TlsHandshake.AcceptAsync(socket, tls, _runtime.Name, http: false, _runtime.Metrics);
        Volatile.Write(ref _handshakeSocket, null);
        if (ssl is null || _aborted)
        {
            ssl?.Dispose();
            socket.Dispose();
            return false;
        }
        ClientCertificateSubject = ssl.RemoteCertificate?.Subject;
        _serverName = ssl.TargetHostName;
        _client = new TlsTransport(socket, ssl, RelaySend, PipeSettings.UpstreamReceive);
        return true;
    }

    /// <summary>The upstream for the handshake's server name: the first SNI route that matches, else the listener's own.</summary>
    private TcpUpstream? RouteByServerName(SniRouter router, TcpUpstream? fallback)
    {
        // Names are at most 255 bytes (RFC 6066 §3); anything longer matches no route.
        var name = _serverName ?? "";
        Span<byte> ascii = stackalloc byte[256];
        int length = name.Length <= ascii.Length && Ascii.FromUtf16(name, ascii, out int written) == OperationStatus.Done ? written : 0;
        var route = router.Match(ascii[..length]);
        var upstream = route?.Upstream ?? fallback;
        if (upstream is null) Log.TcpNoRoute(_runtime.Name, ascii[..length]);
        return upstream;
    }
}
