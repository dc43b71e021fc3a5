using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Tcp;

/// <summary>A raw client socket with bounded reads, for the tcp listener tests.</summary>
public sealed class TcpTestClient : IDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private TcpTestClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    /// <param name="localAddress">A loopback address to connect from (127.0.0.x), for ip_hash.</param>
    public static async Task<TcpTestClient> ConnectAsync(int port, IPAddress? localAddress = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (localAddress is not null) socket.Bind(new IPEndPoint(localAddress, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WaitAsync(DefaultTimeout);
        return new TcpTestClient(socket);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.ASCII.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        int sent = 0;
        while (sent < bytes.Length) sent += await Socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None);
    }

    /// <summary>Reads up to and including the next '\n'.</summary>
    public async Task<string> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            int n = await Socket.ReceiveAsync(one, SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException("closed before the end of the line: " + Encoding.ASCII.GetString([.. line]));
            if (one[0] == '\n') return Encoding.ASCII.GetString([.. line]);
            line.Add(one[0]);
        }
    }

    public async Task<byte[]> ReadExactlyAsync(int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var buffer = new byte[count];
        int read = 0;
        while (read < count)
        {
            int n = await Socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException($"closed after {read} of {count} bytes");
            read += n;
        }
        return buffer;
    }

    /// <summary>Everything until the peer half-closes.</summary>
    public async Task<byte[]> ReadToEndAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0) return all.ToArray();
            all.Write(buffer, 0, n);
        }
    }

    /// <summary>
    /// True when the proxy closes the connection (end of stream or reset) within <paramref name="timeout"/> with
    /// nothing sent first; false when it is still open then.
    /// </summary>
    public async Task<bool> IsClosedByPeerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[1024];
        try
        {
            int n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n > 0) throw new InvalidOperationException($"received {n} unexpected bytes");
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (SocketException)
        {
            return true; // reset
        }
    }

    public void Dispose() => Socket.Dispose();
}
