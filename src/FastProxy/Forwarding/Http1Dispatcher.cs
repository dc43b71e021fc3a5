using System.Net.Sockets;
using FastProxy.Hosting;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

/// <summary>Serves an http listener's accepted sockets with pooled <see cref="Http1Connection"/>s.</summary>
internal sealed class Http1Dispatcher(ListenerRuntime runtime, ProxyServices services) : IConnectionDispatcher
{

    /// <summary>This listener's routes and limits for the configuration generation the dispatcher belongs to.</summary>
    public ListenerRuntime Runtime { get; } = runtime;

    public void Dispatch(Socket socket, Listener listener)
    {
        var connection = services.ConnectionPool.Get();
        connection.Start(socket, listener, services);
    }

    public void Refuse(Socket socket)
    {
        if (Runtime.Tls is not null)
        {
            // A TLS client cannot read a plaintext 503, and a handshake costs too much to spend on a refusal: close.
            socket.Dispose();
            return;
        }
        // Over global.max_connections: a short 503 on a fresh socket whose send buffer is empty cannot block.
        var refusal = ProxyResponses.For(503);
        Span<byte> bytes = stackalloc byte[refusal.Length(ConnectionHeader.Close, headRequest: false)];
        refusal.CopyTo(bytes, ConnectionHeader.Close, headRequest: false);
        try
        {
            socket.Blocking = false;
            socket.Send(bytes, SocketFlags.None, out _);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Gone already.
        }
        finally
        {
            socket.Dispose();
        }
    }
}
