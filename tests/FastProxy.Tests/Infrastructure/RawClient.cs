using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Infrastructure;

/// <summary>A client that speaks raw bytes to the proxy: for malformed requests and exact wire checks.</summary>
public sealed class RawClient : IDisposable
{
    private readonly Socket _socket;

    public RawClient(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
    }

    public Socket Socket => _socket;

    public void Send(string text) => Send(Encoding.Latin1.GetBytes(text));

    public void Send(byte[] bytes) => _socket.Send(bytes);

    /// <summary>Sends the bytes in pieces, pausing between them so that each arrives as its own segment.</summary>
    public async Task SendInPiecesAsync(byte[] bytes, int pieceSize, int delayMs = 2)
    {
        for (int i = 0; i < bytes.Length; i += pieceSize)
        {
            _socket.Send(bytes.AsSpan(i, Math.Min(pieceSize, bytes.Length - i)));
            if (delayMs > 0) await Task.Delay(delayMs);
        }
    }

    /// <summary>Reads until the server closes or <paramref name="timeout"/> passes; returns what arrived.</summary>
    public async Task<string> ReadUntilCloseAsync(TimeSpan? timeout = null)
    {
        var bytes = await ReadUntilCloseBytesAsync(timeout);
        return Encoding.Latin1.GetString(bytes);
    }

    public async Task<byte[]> ReadUntilCloseBytesAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var all = new MemoryStream();
        // Bytes a previous ReadResponseAsync read past its response come first.
        all.Write(_pending.ToArray());
        _pending = [];
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                all.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        return all.ToArray();
    }

    /// <summary>Reads one response (head and Content-Length or chunked body) without waiting for a close.</summary>
    public async Task<string> ReadResponseAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var data = new List<byte>();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            if (ResponseComplete(data, out int length))
            {
                var text = Encoding.Latin1.GetString(data.GetRange(0, length).ToArray());
                _pending = data.GetRange(length, data.Count - length);
                return text;
            }
            int n;
            if (_pending.Count > 0)
            {
                data.AddRange(_pending);
                _pending = [];
                continue;
            }
            n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0) return Encoding.Latin1.GetString(data.ToArray());
            data.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    private List<byte> _pending = [];

    private static bool ResponseComplete(List<byte> data, out int length)
    {
        length = 0;
        var bytes = data.ToArray();
        int end = RawUpstream.IndexOf(bytes, "\r\n\r\n"u8, 0);
        if (end < 0) return false;
        string head = Encoding.Latin1.GetString(bytes, 0, end);
        int status = int.Parse(head.Substring(9, 3));
        var lines = head.Split("\r\n");
        string? cl = lines.FirstOrDefault(l => l.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase));
        bool chunked = lines.Any(l => l.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase));
        if (status < 200 || status == 204 || status == 304)
        {
            length = end + 4;
            return true;
        }
        if (chunked)
        {
            int terminator = RawUpstream.IndexOf(bytes, "\r\n0\r\n\r\n"u8, end);
            if (terminator < 0) return false;
            length = terminator + 7;
            return true;
        }
        int bodyLength = cl is null ? 0 : int.Parse(cl[(cl.IndexOf(':') + 1)..].Trim());
        if (bytes.Length < end + 4 + bodyLength) return false;
        length = end + 4 + bodyLength;
        return true;
    }

    /// <summary>True when the server has closed the connection (a read returns end of stream within the wait).</summary>
    public async Task<bool> IsClosedAsync(TimeSpan? wait = null)
    {
        using var cts = new CancellationTokenSource(wait ?? TimeSpan.FromSeconds(5));
        var buffer = new byte[1024];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return true;
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    public void Dispose() => _socket.Dispose();
}
