using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Hosting;

namespace FastProxy.AllocationProbe;

/// <summary>
/// Proxies requests through an in-process proxy between a client and an origin that allocate nothing themselves
/// (blocking sockets, fixed buffers), and prints the bytes the whole process allocated in each window of requests.
/// Usage: FastProxy.AllocationProbe "REQUEST" [windows] [requests-per-window]
/// </summary>
public static class Program
{
    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n"u8.ToArray();

    public static async Task<int> Main(string[] args)
    {
        // As the real binary does: socket completions run inline on the epoll threads (no thread-pool hops).
        FastProxy.Transport.PipeSettings.EnableInlineSocketCompletions();
        var request = Encoding.ASCII.GetBytes(args[0].Replace("\\r", "\r").Replace("\\n", "\n"));
        int windows = args.Length > 1 ? int.Parse(args[1]) : 5;
        int perWindow = args.Length > 2 ? int.Parse(args[2]) : 5_000;
        using var origin = new BlockingOrigin(Response);
        var config = ConfigLoader.Parse($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            [[routes]]
            upstream = "app"
            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{origin.Port}}" } ]
            """, "probe.toml", AppContext.BaseDirectory).Config!;
        await using var host = ProxyHost.Start(config);
        int port = host.EndPoints["web"].Port;

        var results = await Task.Run(() =>
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.Connect(new IPEndPoint(IPAddress.Loopback, port));
            var buffer = new byte[4096];
            // Warm up: JIT tiers, pools, the upstream connection, the pooled async state machines.
            RunRequests(client, request, buffer, 3_000);
            var bytes = new long[windows];
            for (int w = 0; w < windows; w++)
            {
                long before = GC.GetTotalAllocatedBytes(precise: true);
                RunRequests(client, request, buffer, perWindow);
                bytes[w] = GC.GetTotalAllocatedBytes(precise: true) - before;
            }
            return bytes;
        });
        Console.WriteLine($"requests-per-window {perWindow}");
        Console.WriteLine($"allocated-bytes {string.Join(' ', results)}");
        Console.WriteLine($"upstream-connections {origin.Connections}");
        return 0;
    }

    private static void RunRequests(Socket client, byte[] request, byte[] buffer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            client.Send(request);
            int received = 0;
            while (received < Response.Length)
            {
                int n = client.Receive(buffer.AsSpan(received));
                if (n == 0) throw new InvalidOperationException($"proxy closed the connection after {i} requests");
                received += n;
            }
            if (!buffer.AsSpan(0, received).SequenceEqual(Response))
                throw new InvalidOperationException("unexpected response: " + System.Text.Encoding.ASCII.GetString(buffer, 0, received));
        }
    }

    /// <summary>An origin on a dedicated thread with blocking sockets: one fixed response per request head received.</summary>
    private sealed class BlockingOrigin : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly byte[] _response;
        private readonly Thread _thread;
        private volatile bool _stopping;
        private int _connections;

        public BlockingOrigin(byte[] response)
        {
            _response = response;
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _thread = new Thread(Serve) { IsBackground = true };
            _thread.Start();
        }

        public int Port { get; }

        public int Connections => Volatile.Read(ref _connections);

        private void Serve()
        {
            var buffer = new byte[64 * 1024];
            while (!_stopping)
            {
                Socket s;
                try { s = _listener.Accept(); } catch { return; }
                Interlocked.Increment(ref _connections);
                new Thread(() => ServeConnection(s, new byte[64 * 1024])) { IsBackground = true }.Start();
            }
        }

        /// <summary>Answers once per request: a head end, plus the declared or chunked body, which these tests keep in one read.</summary>
        private void ServeConnection(Socket s, byte[] buffer)
        {
            try
            {
                int pending = 0;
                while (true)
                {
                    int n = s.Receive(buffer.AsSpan(pending));
                    if (n == 0) return;
                    pending += n;
                    while (TryTakeRequest(buffer.AsSpan(0, pending), out int length))
                    {
                        buffer.AsSpan(length, pending - length).CopyTo(buffer);
                        pending -= length;
                        s.Send(_response);
                    }
                }
            }
            catch (SocketException)
            {
            }
            finally
            {
                s.Dispose();
            }
        }

        private static bool TryTakeRequest(ReadOnlySpan<byte> data, out int length)
        {
            length = 0;
            int end = data.IndexOf("\r\n\r\n"u8);
            if (end < 0) return false;
            var head = data[..end];
            int bodyStart = end + 4;
            if (head.IndexOf("chunked"u8) >= 0)
            {
                int last = data[bodyStart..].IndexOf("\r\n0\r\n\r\n"u8);
                if (last < 0) return false;
                length = bodyStart + last + 7;
                return true;
            }
            int cl = head.IndexOf("Content-Length: "u8);
            if (cl < 0)
            {
                length = bodyStart;
                return true;
            }
            int value = 0;
            for (int i = cl + 16; i < head.Length && head[i] >= '0' && head[i] <= '9'; i++) value = value * 10 + head[i] - '0';
            if (data.Length < bodyStart + value) return false;
            length = bodyStart + value;
            return true;
        }

        public void Dispose()
        {
            _stopping = true;
            _listener.Dispose();
        }
    }
}
