using System.Net.Security;
using System.Net.Sockets;
using FastProxy.Diagnostics;
using FastProxy.Tls;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>The socket while its TLS handshake runs, so that a graceful stop's final cut reaches it too.</summary>
    private Socket? _handshakeSocket;

    /// <summary>
    /// The subject of the client certificate, verified against the listener's <c>client_ca</c>, for the life of the
    /// connection (for policies that authorize by client identity). Null without client certificates.
    /// </summary>
    public string? ClientCertificateSubject { get; private set; }

    /// <summary>
    /// TLS termination: the handshake (certificate chosen by SNI, ALPN, client certificate when asked), bounded by the
    /// listener's header_timeout, then the same request loop as plain connections over the decrypted pipes. A failed
    /// or stalled handshake (garbage, a client that stops, a refused client certificate) closes this connection only.
    /// Runs once per connection, so the handshake's allocations (SslStream, its timer) are per connection, not per request.
    /// </summary>
    private async Task RunTlsAsync(Socket socket, TlsServer tls)
    {
        Volatile.Write(ref _handshakeSocket, socket);
        var ssl = await TlsHandshake.AcceptAsync(socket, tls, _listener.Name).ConfigureAwait(false);
        Volatile.Write(ref _handshakeSocket, null);
        if (ssl is null || _services.Draining)
        {
            ssl?.Dispose();
            socket.Dispose();
            Close();
            return;
        }

        ClientCertificateSubject = ssl.RemoteCertificate?.Subject;
        // HTTP/2 joins here: dispatch on ssl.NegotiatedApplicationProtocol once h2 is offered (TlsAlpn.Http).
        var transport = new TlsTransport(socket, ssl, PipeSettings.Send, PipeSettings.ClientReceive);
        _transport = transport;
        _input = transport.Input;
        _output = transport.Output;
        await RunAsync();
    }
}
