using System.Net;
using System.Net.Sockets;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>
    /// A listener with proxy_protocol = true: the PROXY protocol header is read from the socket first (only from a
    /// trusted proxy; see <see cref="ProxyHeaderReader"/>), and the address it names becomes this connection's client
    /// address, for X-Forwarded-For and ip_hash alike, on every request of the connection and every stream of HTTP/2
    /// (which inherits it). Then the connection goes on as on any listener: the TLS handshake (the header comes
    /// before the ClientHello), the h2c preface check, requests. A refused header closes the connection, nothing
    /// read, nothing answered. Once per connection; listeners without the option never come here.
    /// </summary>
    private async Task RunProxyProtocolAsync(Socket socket, ProxyHeaderReader reader, IPAddress? peer)
    {
        // While the header is awaited, a graceful stop's final cut reaches the socket as during a TLS handshake.
        Volatile.Write(ref _handshakeSocket, socket);
        var outcome = await reader.ReadAsync(socket, peer).ConfigureAwait(false);
        Volatile.Write(ref _handshakeSocket, null);
        if (!outcome.Accepted || _aborted)
        {
            socket.Dispose();
            Close();
            return;
        }
        // LOCAL, UNKNOWN and the like name nobody: the peer stays the client.
        if (outcome.Client is { } client) SetClient(client);
        if (Runtime.Tls is { } tls)
        {
            await RunTlsAsync(socket, tls);
            return;
        }
        var transport = new LeanSocket(socket, PipeSettings.SmallBlocks);
        _transport = transport;
        _input = transport;
        _output = transport.Output;
        await RunAsync();
    }
}
