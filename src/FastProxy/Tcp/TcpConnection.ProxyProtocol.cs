using System.Net;
using FastProxy.Balancing;
using FastProxy.Transport;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Tcp;

internal sealed partial class TcpConnection
{
    /// <summary>
    /// A tcp listener with proxy_protocol = true: the PROXY protocol header is taken from the socket before anything
    /// else (before the TLS handshake when the listener terminates TLS, before the ClientHello is read for SNI), only
    /// from a trusted proxy (<see cref="ProxyHeaderReader"/>). The address it names is the client's for ip_hash. The
    /// header itself is not relayed: the upstream receives the client's bytes from the first one after it. False: the
    /// connection is refused and its socket closed.
    /// </summary>
    private async Task<bool> ReadProxyHeaderAsync(ProxyHeaderReader reader)
    {
        var socket = _handshakeSocket!;
        var peer = (socket.RemoteEndPoint as IPEndPoint)?.Address;
        if (peer is { IsIPv4MappedToIPv6: true }) peer = peer.MapToIPv4();
        var outcome = await reader.ReadAsync(socket, peer);
        if (!outcome.Accepted || _aborted)
        {
            Volatile.Write(ref _handshakeSocket, null);
            socket.Dispose();
            return false;
        }
        if (outcome.Client is { } client) _clientHash = ClientAddressHash.Compute(client);
        if (_runtime.Tls is null)
        {
            // As Begin does on listeners without the option; a terminating listener's handshake takes the socket next.
            _client = SocketConnection.Create(socket, RelaySend, PipeSettings.UpstreamReceive, PipeSettings.Client);
            Volatile.Write(ref _handshakeSocket, null);
        }
        return true;
    }
}
