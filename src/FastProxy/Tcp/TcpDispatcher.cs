using System.Net.Sockets;
using FastProxy.Hosting;
using FastProxy.Transport;

namespace FastProxy.Tcp;

/// <summary>Serves a tcp listener's accepted sockets with pooled <see cref="TcpConnection"/>s.</summary>
internal sealed class TcpDispatcher(TcpListenerRuntime runtime, ProxyServices services) : IConnectionDispatcher
{
    /// <summary>This listener's routes and timeouts for the configuration generation the dispatcher belongs to.</summary>
    public TcpListenerRuntime Runtime { get; } = runtime;

    public void Dispatch(Socket socket, Listener listener) => TcpConnection.Start(socket, Runtime, services);

    /// <summary>Over global.max_connections: a byte stream has no way to say why, so the connection is just closed.</summary>
    public void Refuse(Socket socket) => socket.Dispose();
}
