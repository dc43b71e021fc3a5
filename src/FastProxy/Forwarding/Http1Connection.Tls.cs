using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using FastProxy.Http2.Frames;
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

    /// <summary>The TLS handshake negotiated h2 by ALPN: this connection speaks HTTP/2 only.</summary>
    private bool _alpnH2;

    /// <summary>
    /// TLS termination: the handshake (certificate chosen by SNI, ALPN, client certificate when asked), bounded by the
    /// listener's header_timeout, then the same request loop as plain connections over the decrypted pipes, or the
    /// HTTP/2 connection when ALPN chose h2. A failed
    /// or stalled handshake (garbage, a client that stops, a refused client certificate) closes this connection only.
    /// Runs once per connection, so the handshake's allocations (SslStream, its timer) are per connection, not per request.
    /// </summary>
    private async Task RunTlsAsync(Socket socket, TlsServer tls)
    {
        Volatile.Write(ref _handshakeSocket, socket);
        var ssl = await TlsHandshake.AcceptAsync(socket, tls, _listener.Name, http: true, Runtime.Metrics).ConfigureAwait(false);
        Volatile.Write(ref _handshakeSocket, null);
        if (ssl is null || _services.Draining)
        {
            ssl?.Dispose();
            socket.Dispose();
            Close();
            return;
        }

        ClientCertificateSubject = ssl.RemoteCertificate?.Subject;
        // ALPN chose h2 (TlsAlpn.Http offers it first): the connection must open with the HTTP/2 preface (RFC 9113
        // §3.4) and is served by the HTTP/2 connection over these pipes. http/1.1 or no ALPN: the HTTP/1.1 loop.
        _alpnH2 = ssl.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2;
        var transport = new TlsTransport(socket, ssl, PipeSettings.Send, PipeSettings.ClientReceive);
        _transport = transport;
        _input = transport.Input;
        _output = transport.Output;
        if (_alpnH2 && ssl.SslProtocol == SslProtocols.Tls12 && !TlsAlpn.AllowsHttp2OnTls12(ssl.NegotiatedCipherSuite))
        {
            // RFC 9113 §9.2.2: h2 over TLS 1.2 on a suite the RFC forbids (a client offering nothing better). The same
            // client is served HTTP/1.1 if it offers only that.
            try
            {
                await RefuseHttp2Async(Http2ErrorCode.InadequateSecurity, "TLS 1.2 cipher suite " + ssl.NegotiatedCipherSuite);
            }
            finally
            {
                Close();
            }
            return;
        }
        await RunAsync();
    }

    /// <summary>
    /// A connection that is HTTP/2's and cannot go on from its start (a forbidden TLS suite, an invalid preface): our
    /// SETTINGS (the server preface, §3.4) and GOAWAY with <paramref name="code"/> and no stream processed, then the
    /// close (the caller's). Once per such connection.
    /// </summary>
    private async Task RefuseHttp2Async(Http2ErrorCode code, string reason)
    {
        try
        {
            Log.Http2ConnectionError(_listener.Name, code.ToString(), reason);
            Http2FrameWriter.WriteSettings(_output, []);
            Http2FrameWriter.WriteGoAway(_output, 0, code);
            await _output.FlushAsync();
            await LingerAsync();
        }
        catch (Exception ex) when (Http2Connection.IsConnectionError(ex))
        {
            // Gone already.
        }
    }
}
