using System.Net;
using System.Net.Sockets;
using FastProxy.Diagnostics;

namespace FastProxy.Transport;

/// <summary>
/// The acceptor of one [[listeners]] entry: binds, accepts, enforces the connection cap and hands each socket to
/// its protocol's dispatcher. It knows nothing of HTTP.
/// </summary>
internal sealed class Listener
{
    /// <summary>Pending connections the kernel may queue; net.core.somaxconn caps it anyway.</summary>
    private const int Backlog = 4096;

    private readonly Socket _socket;
    private readonly ConnectionLimiter _limiter;
    private volatile IConnectionDispatcher _dispatcher;
    private volatile bool _stopping;
    private Task? _acceptLoop;

    private Listener(string name, Socket socket, ConnectionLimiter limiter, IConnectionDispatcher dispatcher)
    {
        Name = name;
        _socket = socket;
        _limiter = limiter;
        _dispatcher = dispatcher;
        EndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public string Name { get; }

    /// <summary>The address actually bound (the port the OS chose when the config said 0).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Reload swaps the protocol side (new routes) without touching the bound socket.</summary>
    public IConnectionDispatcher Dispatcher
    {
        get => _dispatcher;
        set => _dispatcher = value;
    }

    /// <summary>Whether the socket was opened with SO_REUSEPORT (reuse_port = true): others may share the port.</summary>
    public bool ReusePort { get; private init; }

    /// <summary>Binds and listens; a port in use or a bad address throws a <see cref="ListenerBindException"/> naming both.</summary>
    public static Listener Bind(string name, IPEndPoint endPoint, bool reusePort, ConnectionLimiter limiter, IConnectionDispatcher dispatcher)
    {
        var socket = ListenSocket.Open($"listener \"{name}\"", endPoint, reusePort, Backlog);
        return new Listener(name, socket, limiter, dispatcher) { ReusePort = reusePort };
    }

    public void Start() => _acceptLoop = AcceptLoopAsync();

    private async Task AcceptLoopAsync()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception) when (_stopping)
            {
                break;
            }
            catch (SocketException ex)
            {
                // Out of file descriptors and the like: back off briefly rather than spin.
                Log.AcceptFailed(Name, ex.SocketErrorCode.ToString());
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }

            if (!_limiter.TryAcquire())
            {
                _dispatcher.Refuse(client);
                continue;
            }
            try
            {
                client.NoDelay = true;
                _dispatcher.Dispatch(client, this);
            }
            catch (Exception ex)
            {
                // A dispatcher bug must cost one connection, never the listener.
                _limiter.Release();
                Log.ConnectionFailed(Name, ex);
                client.Dispose();
            }
        }
    }

    /// <summary>Stops accepting: the listening socket is closed; established connections are not touched.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        _socket.Dispose();
        if (_acceptLoop is not null)
        {
            try { await _acceptLoop.ConfigureAwait(false); } catch { /* already logged */ }
        }
    }
}
