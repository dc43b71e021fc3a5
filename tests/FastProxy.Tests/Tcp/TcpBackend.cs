using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Tcp;

/// <summary>
/// A plain TCP server on loopback that serves each connection with the test's handler (echo, identify, sink...).
/// </summary>
public sealed class TcpBackend : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<Socket, Task> _serve;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _open = [];
    private readonly Task _acceptLoop;
    private int _connections;

    public TcpBackend(Func<Socket, Task> serve)
    {
        _serve = serve;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Echoes every byte until the client half-closes, then half-closes too.</summary>
    public static TcpBackend Echo() => new(EchoAsync);

    /// <summary>Sends "<paramref name="name"/>\n" first, then echoes: shows which server a connection reached.</summary>
    public static TcpBackend Named(string name) => new(async socket =>
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(name + "\n"), SocketFlags.None);
        await EchoAsync(socket);
    });

    public static async Task EchoAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0) break;
            await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
        }
        socket.Shutdown(SocketShutdown.Send);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            lock (_open) _open.Add(socket);
            _ = Task.Run(async () =>
            {
                try
                {
                    await _serve(socket);
                }
                catch
                {
                    // Test server: the proxy closing on us is routine.
                }
                finally
                {
                    socket.Dispose();
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_open)
        {
            foreach (var socket in _open) socket.Dispose();
        }
        try { await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
    }
}
