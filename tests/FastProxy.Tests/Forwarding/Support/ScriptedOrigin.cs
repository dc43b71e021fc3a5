using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding.Support;

/// <summary>
/// An HTTP/1.1 origin on 127.0.0.1 whose every answer is an async script: it may send any bytes, wait, send a
/// partial response, close or reset the connection. For what <see cref="RawUpstream"/> cannot say (slow answers,
/// responses cut off mid-body, several messages per request, requests held open).
/// </summary>
public sealed class ScriptedOrigin : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<UpstreamRequest, OriginConnection, Task> _script;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<UpstreamRequest> _requests = new();
    private readonly ConcurrentBag<Socket> _open = [];
    private readonly Task _acceptLoop;
    private int _connections;
    private int _active;
    private int _closedByPeer;

    /// <param name="script">Answers one request; the connection reads the next request when it returns, unless it was closed.</param>
    /// <param name="backlog">Connections waiting to be accepted: more when the proxy opens hundreds at once.</param>
    public ScriptedOrigin(Func<UpstreamRequest, OriginConnection, Task> script, int backlog = 128)
    {
        _script = script;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(backlog);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Requests whose script is running right now.</summary>
    public int Active => Volatile.Read(ref _active);

    public IReadOnlyList<UpstreamRequest> Requests => [.. _requests];

    /// <summary>Connections the other side (the proxy) closed.</summary>
    public int ClosedByPeer => Volatile.Read(ref _closedByPeer);

    /// <summary>Waits (bounded) until at least <paramref name="count"/> requests have arrived.</summary>
    public async Task WaitForRequestsAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (_requests.Count < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{_requests.Count} of {count} requests arrived");
            await Task.Delay(5);
        }
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
            int id = Interlocked.Increment(ref _connections);
            _open.Add(socket);
            _ = Task.Run(() => Serve(socket, id));
        }
    }

    private async Task Serve(Socket socket, int id)
    {
        var connection = new OriginConnection(socket);
        var buffer = new List<byte>();
        var chunk = new byte[64 * 1024];
        try
        {
            while (!_stop.IsCancellationRequested && !connection.IsClosed)
            {
                while (WireRequests.TryTake(buffer, id, out var request))
                {
                    _requests.Enqueue(request);
                    Interlocked.Increment(ref _active);
                    try
                    {
                        await _script(request, connection);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _active);
                    }
                    if (connection.IsClosed) return;
                }
                int n = await socket.ReceiveAsync(chunk, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    Interlocked.Increment(ref _closedByPeer);
                    return;
                }
                buffer.AddRange(chunk.AsSpan(0, n).ToArray());
            }
        }
        catch
        {
            // Test server: the proxy closing on us is routine.
        }
        finally
        {
            socket.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (var s in _open)
        {
            try { s.Dispose(); } catch { }
        }
        try { await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
    }
}

/// <summary>The origin's side of one connection, as a script sees it.</summary>
public sealed class OriginConnection(Socket socket)
{
    private volatile bool _closed;

    public bool IsClosed => _closed;

    public Task SendAsync(string text) => SendAsync(Encoding.Latin1.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await socket.SendAsync(bytes, SocketFlags.None);
    }

    /// <summary>Ends the connection with a FIN, as a server does when it is done.</summary>
    public void Close()
    {
        _closed = true;
        try { socket.Shutdown(SocketShutdown.Both); } catch { }
        socket.Close();
    }

    /// <summary>Ends the connection with a RST, as a crashed server does.</summary>
    public void Reset()
    {
        _closed = true;
        try { socket.LingerState = new LingerOption(true, 0); } catch { }
        socket.Close();
    }
}

/// <summary>Takes whole requests (head plus Content-Length or chunked body) off a receive buffer.</summary>
internal static class WireRequests
{
    public static bool TryTake(List<byte> buffer, int connectionId, out UpstreamRequest request)
    {
        request = null!;
        var bytes = buffer.ToArray();
        int end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0) return false;
        string head = Encoding.Latin1.GetString(bytes, 0, end + 4);
        int pos = end + 4;
        var lines = head.Split("\r\n");
        string? cl = lines.FirstOrDefault(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase));
        bool chunked = lines.Any(l => l.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase));
        var body = new List<byte>();
        if (chunked)
        {
            while (true)
            {
                int lineEnd = bytes.AsSpan(pos).IndexOf("\r\n"u8);
                if (lineEnd < 0) return false;
                int size = Convert.ToInt32(Encoding.ASCII.GetString(bytes, pos, lineEnd).Split(';')[0], 16);
                pos += lineEnd + 2;
                if (size == 0)
                {
                    // Trailer lines, then the empty line.
                    while (true)
                    {
                        int trailerEnd = bytes.AsSpan(pos).IndexOf("\r\n"u8);
                        if (trailerEnd < 0) return false;
                        pos += trailerEnd + 2;
                        if (trailerEnd == 0) break;
                    }
                    break;
                }
                if (bytes.Length < pos + size + 2) return false;
                body.AddRange(bytes.AsSpan(pos, size).ToArray());
                pos += size + 2;
            }
        }
        else
        {
            int length = cl is null ? 0 : int.Parse(cl[(cl.IndexOf(':') + 1)..].Trim());
            if (bytes.Length < pos + length) return false;
            body.AddRange(bytes.AsSpan(pos, length).ToArray());
            pos += length;
        }
        buffer.RemoveRange(0, pos);
        request = new UpstreamRequest(head, [.. body], connectionId);
        return true;
    }
}
