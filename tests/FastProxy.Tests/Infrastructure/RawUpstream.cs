using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Infrastructure;

/// <summary>One request as a <see cref="RawUpstream"/> saw it: the raw head and the de-framed body.</summary>
public sealed record UpstreamRequest(string Head, byte[] Body, int ConnectionId)
{
    public string RequestLine => Head[..Head.IndexOf("\r\n", StringComparison.Ordinal)];

    /// <summary>Header lines after the request line (raw, "Name: value").</summary>
    public IReadOnlyList<string> HeaderLines => Head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();

    /// <summary>The value of the one field with this name (case-insensitive), or null; throws if there are several.</summary>
    public string? Header(string name) => HeaderLines
        .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
        .Select(l => l[(name.Length + 1)..].Trim())
        .SingleOrDefault();
}

/// <summary>
/// A plain TCP server on 127.0.0.1 that records every byte it receives and answers with whatever the test says:
/// a deliberately simple HTTP/1.1 origin whose misbehaviour is under the test's control.
/// </summary>
public sealed class RawUpstream : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<UpstreamRequest, byte[]?> _respond;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<UpstreamRequest> _requests = new();
    private readonly ConcurrentBag<Socket> _open = [];
    private readonly MemoryStream _allBytes = new();
    private readonly Task _acceptLoop;
    private int _connections;
    private int _openConnections;

    /// <param name="respond">Raw response bytes for a request; null: close the connection without answering.</param>
    /// <param name="parse">False: record bytes only and never answer (for "nothing reaches the upstream" checks).</param>
    /// <param name="port">0: any free port; else this one (to restart a server the test stopped, on its old address).</param>
    /// <param name="address">The loopback address to listen on (127.0.0.2 and up bind on Linux); default 127.0.0.1.</param>
    public RawUpstream(Func<UpstreamRequest, byte[]?>? respond = null, bool parse = true, int port = 0, IPAddress? address = null)
    {
        _respond = respond ?? (_ => Ok("ok"));
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(address ?? IPAddress.Loopback, port));
        _listener.Listen(512);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = Task.Run(() => AcceptLoop(parse));
    }

    public int Port { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Connections open now (accepted and not yet closed by either side).</summary>
    public int OpenConnections => Volatile.Read(ref _openConnections);

    public IReadOnlyList<UpstreamRequest> Requests => [.. _requests];

    /// <summary>Every byte received on every connection, in arrival order per read.</summary>
    public byte[] ReceivedBytes
    {
        get
        {
            lock (_allBytes) return _allBytes.ToArray();
        }
    }

    public static byte[] Ok(string body, string extraHeaders = "")
        => Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n{extraHeaders}\r\n{body}");

    /// <summary>A response with any status and a short body.</summary>
    public static byte[] Status(int status, string body = "")
        => Encoding.ASCII.GetBytes($"HTTP/1.1 {status} Status\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}");

    /// <summary>Answers with the request's connection id and request count, to show which connection served it.</summary>
    public static byte[] Echo(UpstreamRequest r) => Ok($"conn={r.ConnectionId}");

    private async Task AcceptLoop(bool parse)
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
            Interlocked.Increment(ref _openConnections);
            _open.Add(socket);
            _ = Task.Run(() => Serve(socket, id, parse));
        }
    }

    private async Task Serve(Socket socket, int id, bool parse)
    {
        var buffer = new List<byte>();
        var chunk = new byte[64 * 1024];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int n = await socket.ReceiveAsync(chunk, SocketFlags.None, _stop.Token);
                if (n == 0) return;
                lock (_allBytes) _allBytes.Write(chunk, 0, n);
                if (!parse) continue;
                buffer.AddRange(chunk.AsSpan(0, n).ToArray());
                while (TryTakeRequest(buffer, id, out var request))
                {
                    _requests.Enqueue(request);
                    var response = _respond(request);
                    if (response is null)
                    {
                        socket.Close();
                        return;
                    }
                    if (response.Length > 0) await socket.SendAsync(response, SocketFlags.None, _stop.Token);
                }
            }
        }
        catch
        {
            // Test server: the proxy closing on us is routine.
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _openConnections);
        }
    }

    /// <summary>Takes one complete request (head plus Content-Length or chunked body) off the front of the buffer.</summary>
    private static bool TryTakeRequest(List<byte> buffer, int id, out UpstreamRequest request)
    {
        request = null!;
        var bytes = buffer.ToArray();
        int end = IndexOf(bytes, "\r\n\r\n"u8, 0);
        if (end < 0) return false;
        string head = Encoding.Latin1.GetString(bytes, 0, end + 4);
        int bodyStart = end + 4;
        var lines = head.Split("\r\n");
        string? cl = lines.FirstOrDefault(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase));
        bool chunked = lines.Any(l => l.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase) && l.Contains("chunked", StringComparison.OrdinalIgnoreCase));
        byte[] body;
        int consumed;
        if (chunked)
        {
            var data = new List<byte>();
            int pos = bodyStart;
            while (true)
            {
                int lineEnd = IndexOf(bytes, "\r\n"u8, pos);
                if (lineEnd < 0) return false;
                string sizeText = Encoding.ASCII.GetString(bytes, pos, lineEnd - pos).Split(';')[0];
                int size = Convert.ToInt32(sizeText, 16);
                pos = lineEnd + 2;
                if (size == 0)
                {
                    int trailerEnd = IndexOf(bytes, "\r\n"u8, pos);
                    while (trailerEnd > pos)
                    {
                        pos = trailerEnd + 2;
                        trailerEnd = IndexOf(bytes, "\r\n"u8, pos);
                    }
                    if (trailerEnd < 0) return false;
                    consumed = trailerEnd + 2;
                    break;
                }
                if (bytes.Length < pos + size + 2) return false;
                data.AddRange(bytes.AsSpan(pos, size).ToArray());
                pos += size + 2;
            }
            body = [.. data];
        }
        else
        {
            int length = cl is null ? 0 : int.Parse(cl[(cl.IndexOf(':') + 1)..].Trim());
            if (bytes.Length < bodyStart + length) return false;
            body = bytes.AsSpan(bodyStart, length).ToArray();
            consumed = bodyStart + length;
        }
        buffer.RemoveRange(0, consumed);
        request = new UpstreamRequest(head, body, id);
        return true;
    }

    internal static int IndexOf(byte[] haystack, ReadOnlySpan<byte> needle, int start)
    {
        int i = haystack.AsSpan(start).IndexOf(needle);
        return i < 0 ? -1 : i + start;
    }

    /// <summary>Closes every connection the server holds (simulates a server restart or a keep-alive timeout).</summary>
    public void CloseAllConnections()
    {
        foreach (var s in _open)
        {
            try { s.Shutdown(SocketShutdown.Both); } catch { }
            s.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        CloseAllConnections();
        try { await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
    }
}
