using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>A connection the proxy closes after its last response: everything sent before the close must arrive.</summary>
public sealed class ClosingTests
{
    [Theory]
    [InlineData("GET / HTTP/1.0\r\nHost: a\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")]
    public async Task The_end_of_a_large_response_reaches_a_slow_reader_before_the_close(string request)
    {
        const int length = 8 << 20;
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n" + new string('z', length)));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
        await socket.ConnectAsync(proxy.EndPoint());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, cts.Token);
        await Task.Delay(500, cts.Token);
        long total = 0;
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0) break;
            total += n;
            // A slow reader: small reads with pauses, so the proxy's last writes wait on us.
            if (total < 1 << 20) await Task.Delay(1, cts.Token);
        }

        Assert.InRange(total, length, length + 500);
    }

    [Fact]
    public async Task The_end_of_a_close_delimited_response_reaches_a_slow_reader_before_the_close()
    {
        const int length = 8 << 20;
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\n\r\n" + new string('z', length));
            c.Close();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
        await socket.ConnectAsync(proxy.EndPoint());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await socket.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
        await Task.Delay(500, cts.Token);
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (n == 0) break;
            all.Write(buffer, 0, n);
        }

        var text = Encoding.Latin1.GetString(all.ToArray());
        int bodyStart = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        Assert.Equal(length, text.Length - bodyStart);
    }
}
