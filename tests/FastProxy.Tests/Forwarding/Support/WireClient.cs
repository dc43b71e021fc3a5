using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Forwarding.Support;

/// <summary>How a response's body was delimited on the wire.</summary>
public enum Framing
{
    None,
    ContentLength,
    Chunked,
    Close,
}

/// <summary>One response as the client received it: the head as sent, and the body with its framing removed.</summary>
public sealed record WireResponse(int Status, string Head, byte[] Body, Framing Framing, bool Complete, string RawBody)
{
    public string BodyText => Encoding.Latin1.GetString(Body);

    /// <summary>Header lines after the status line ("Name: value").</summary>
    public IReadOnlyList<string> HeaderLines => Head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();

    /// <summary>Every value of fields with this name (case-insensitive).</summary>
    public IReadOnlyList<string> Headers(string name) => HeaderLines
        .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
        .Select(l => l[(name.Length + 1)..].Trim())
        .ToList();

    /// <summary>The value of the one field with this name, or null; throws if there are several.</summary>
    public string? Header(string name) => Headers(name).SingleOrDefault();

    public bool Has(string name) => Headers(name).Count > 0;
}

/// <summary>
/// A raw-socket HTTP/1.1 client that reads responses exactly as framed on the wire: HEAD, 1xx, 204 and 304 carry
/// no body; chunked bodies are de-chunked and checked for their last chunk; close-delimited bodies run to the close.
/// Incomplete messages (the connection ended early) are reported, not hidden.
/// </summary>
public sealed class WireClient : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _buffer = [];
    private readonly byte[] _chunk = new byte[64 * 1024];
    private bool _eof;

    public WireClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
    }

    public Socket Socket => _socket;

    public void Send(string text) => _socket.Send(Encoding.Latin1.GetBytes(text));

    public void Send(byte[] bytes) => _socket.Send(bytes);

    /// <summary>For writes that may have to wait for the peer to read: does not hold a thread meanwhile.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int n = await _socket.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[n..];
        }
    }

    /// <summary>Sends a request and reads its final response (skipping any 1xx).</summary>
    public async Task<WireResponse> RoundTripAsync(string request, TimeSpan? timeout = null)
    {
        Send(request);
        string method = request[..request.IndexOf(' ')];
        return await ReadFinalResponseAsync(method, timeout);
    }

    /// <summary>Reads responses until a final (non-1xx) one arrives.</summary>
    public async Task<WireResponse> ReadFinalResponseAsync(string method = "GET", TimeSpan? timeout = null)
    {
        for (int i = 0; i < 10; i++)
        {
            var response = await ReadResponseAsync(method, timeout);
            if (response.Status >= 200 || response.Status == 101 || !response.Complete) return response;
        }
        throw new InvalidOperationException("more than 10 informational responses");
    }

    /// <summary>Reads one response, informational ones included.</summary>
    public async Task<WireResponse> ReadResponseAsync(string method = "GET", TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var token = cts.Token;

        int headEnd;
        while ((headEnd = IndexOf("\r\n\r\n"u8, 0)) < 0)
        {
            if (!await FillAsync(token))
            {
                return new WireResponse(0, Encoding.Latin1.GetString([.. _buffer]), [], Framing.None, false, "");
            }
        }
        string head = Encoding.Latin1.GetString(_buffer.GetRange(0, headEnd).ToArray());
        _buffer.RemoveRange(0, headEnd + 4);
        int status = int.Parse(head.AsSpan(9, 3));
        var lines = head.Split("\r\n").Skip(1).ToList();
        string? cl = lines.FirstOrDefault(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase));
        bool chunked = lines.Any(l => l.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase));

        if (method == "HEAD" || status < 200 || status == 204 || status == 304)
        {
            return new WireResponse(status, head, [], Framing.None, true, "");
        }
        if (chunked)
        {
            var body = new List<byte>();
            int pos = 0;
            while (true)
            {
                int lineEnd;
                while ((lineEnd = IndexOf("\r\n"u8, pos)) < 0)
                {
                    if (!await FillAsync(token)) return Incomplete(status, head, body, Framing.Chunked, pos);
                }
                int size = Convert.ToInt32(Encoding.ASCII.GetString(_buffer.GetRange(pos, lineEnd - pos).ToArray()).Split(';')[0], 16);
                pos = lineEnd + 2;
                if (size == 0)
                {
                    while (true)
                    {
                        int trailerEnd;
                        while ((trailerEnd = IndexOf("\r\n"u8, pos)) < 0)
                        {
                            if (!await FillAsync(token)) return Incomplete(status, head, body, Framing.Chunked, pos);
                        }
                        bool last = trailerEnd == pos;
                        pos = trailerEnd + 2;
                        if (last) break;
                    }
                    string raw = Encoding.Latin1.GetString(_buffer.GetRange(0, pos).ToArray());
                    _buffer.RemoveRange(0, pos);
                    return new WireResponse(status, head, [.. body], Framing.Chunked, true, raw);
                }
                while (_buffer.Count < pos + size + 2)
                {
                    if (!await FillAsync(token))
                    {
                        body.AddRange(_buffer.GetRange(pos, Math.Min(size, _buffer.Count - pos)));
                        return Incomplete(status, head, body, Framing.Chunked, _buffer.Count);
                    }
                }
                body.AddRange(_buffer.GetRange(pos, size));
                pos += size + 2;
            }
        }
        if (cl is not null)
        {
            int length = int.Parse(cl[(cl.IndexOf(':') + 1)..].Trim());
            while (_buffer.Count < length)
            {
                if (!await FillAsync(token)) return Incomplete(status, head, [.. _buffer], Framing.ContentLength, _buffer.Count);
            }
            var body = _buffer.GetRange(0, length).ToArray();
            _buffer.RemoveRange(0, length);
            return new WireResponse(status, head, body, Framing.ContentLength, true, Encoding.Latin1.GetString(body));
        }
        // Close-delimited: the body is whatever arrives before the server closes.
        while (await FillAsync(token))
        {
        }
        var rest = _buffer.ToArray();
        _buffer.Clear();
        return new WireResponse(status, head, rest, Framing.Close, _eof, Encoding.Latin1.GetString(rest));
    }

    private WireResponse Incomplete(int status, string head, List<byte> body, Framing framing, int consumed)
    {
        string raw = Encoding.Latin1.GetString(_buffer.GetRange(0, Math.Min(consumed, _buffer.Count)).ToArray());
        _buffer.Clear();
        return new WireResponse(status, head, [.. body], framing, false, raw);
    }

    /// <summary>True when the server closes the connection (end of stream or reset) within the wait.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? wait = null)
    {
        if (_eof) return true;
        using var cts = new CancellationTokenSource(wait ?? TimeSpan.FromSeconds(5));
        try
        {
            while (await FillAsync(cts.Token))
            {
            }
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Bytes received but not yet taken by a response (e.g. anything after a final response).</summary>
    public int Buffered => _buffer.Count;

    private int IndexOf(ReadOnlySpan<byte> needle, int start)
    {
        if (start >= _buffer.Count) return -1;
        var bytes = _buffer.ToArray();
        int i = bytes.AsSpan(start).IndexOf(needle);
        return i < 0 ? -1 : i + start;
    }

    /// <summary>Reads more bytes; false at end of stream (a reset counts as an end).</summary>
    private async Task<bool> FillAsync(CancellationToken token)
    {
        if (_eof) return false;
        int n;
        try
        {
            n = await _socket.ReceiveAsync(_chunk, SocketFlags.None, token);
        }
        catch (SocketException)
        {
            n = 0;
        }
        if (n == 0)
        {
            _eof = true;
            return false;
        }
        _buffer.AddRange(_chunk.AsSpan(0, n).ToArray());
        return true;
    }

    public void Dispose() => _socket.Dispose();
}
