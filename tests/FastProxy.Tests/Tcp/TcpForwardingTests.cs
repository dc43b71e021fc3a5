using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tcp;

/// <summary>protocol = "tcp" listeners: bytes both ways, half-close, connect failover, idle timeout.</summary>
public sealed class TcpForwardingTests
{
    [Fact]
    public async Task Bytes_are_forwarded_both_ways_unchanged()
    {
        await using var backend = TcpBackend.Echo();
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port]));
        using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));

        var payload = new byte[1024 * 1024 + 7];
        new Random(42).NextBytes(payload);
        var sending = client.SendAsync(payload);
        var echoed = await client.ReadExactlyAsync(payload.Length);
        await sending;
        Assert.Equal(payload, echoed);

        // And again on the same connection: nothing is framed or buffered per message.
        await client.SendAsync("ping\n");
        Assert.Equal("ping", await client.ReadLineAsync());
        Assert.Equal(1, backend.Connections);
    }

    [Fact]
    public async Task A_client_that_half_closes_still_receives_the_whole_reply()
    {
        // The server answers only after the client's end of stream: a request that ends with the client's FIN.
        var reply = new byte[3 * 1024 * 1024];
        new Random(1).NextBytes(reply);
        await using var backend = new TcpBackend(async socket =>
        {
            long received = 0;
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) received += n;
            await socket.SendAsync(Encoding.ASCII.GetBytes($"{received}\n"), SocketFlags.None);
            await socket.SendAsync(reply, SocketFlags.None);
            socket.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port]));
        using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));

        await client.SendAsync(new byte[200_000]);
        client.Socket.Shutdown(SocketShutdown.Send);

        Assert.Equal("200000", await client.ReadLineAsync());
        var rest = await client.ReadToEndAsync();
        Assert.Equal(reply, rest);
    }

    [Fact]
    public async Task A_server_that_half_closes_first_still_receives_what_the_client_sends()
    {
        var received = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new TcpBackend(async socket =>
        {
            await socket.SendAsync("greeting, and that is all from me\n"u8.ToArray(), SocketFlags.None);
            socket.Shutdown(SocketShutdown.Send);
            long total = 0;
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0) total += n;
            received.TrySetResult(total);
        });
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port]));
        using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));

        Assert.Equal("greeting, and that is all from me", await client.ReadLineAsync());
        Assert.Empty(await client.ReadToEndAsync()); // the server's end of stream reached the client...
        // ...and the client can still send, all of it reaching the server.
        await client.SendAsync(new byte[2 * 1024 * 1024]);
        client.Socket.Shutdown(SocketShutdown.Send);
        Assert.Equal(2 * 1024 * 1024, await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_server_that_refuses_is_skipped_for_the_next_one()
    {
        int dead = UnusedPort();
        await using var live = TcpBackend.Named("live");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([dead, live.Port]));
        for (int i = 0; i < 4; i++)
        {
            using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
            Assert.Equal("live", await client.ReadLineAsync());
        }
        Assert.Equal(4, live.Connections);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_within_connect_timeout_is_skipped()
    {
        // A listening socket whose backlog is full never completes a handshake: the connect hangs, as to a dead host.
        using var blackhole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blackhole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blackhole.Listen(0);
        int port = ((IPEndPoint)blackhole.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            for (int i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                _ = filler.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            }
            await Task.Delay(200);

            await using var live = TcpBackend.Named("live");
            await using var proxy = TestProxy.Start(TcpConfigs.Forward([port, live.Port], upstreamExtra: "connect_timeout = \"300ms\""));
            var started = DateTime.UtcNow;
            using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
            Assert.Equal("live", await client.ReadLineAsync(TimeSpan.FromSeconds(5)));
            Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        }
        finally
        {
            foreach (var filler in fillers) filler.Dispose();
        }
    }

    [Fact]
    public async Task When_no_server_can_be_connected_the_client_is_closed()
    {
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([UnusedPort(), UnusedPort()]));
        using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_connection_with_no_bytes_either_way_for_idle_timeout_is_closed()
    {
        var serverSawClose = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new TcpBackend(async socket =>
        {
            var buffer = new byte[1024];
            try
            {
                while (await socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
                {
                }
            }
            catch (SocketException)
            {
            }
            serverSawClose.TrySetResult();
        });
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port], limits: "idle_timeout = \"1s\""));
        using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));

        // Bytes every 150 ms keep it open well past the timeout (margins for a loaded 2-core machine, where a
        // process can stall for most of a second)...
        for (int i = 0; i < 14; i++)
        {
            await client.SendAsync("x");
            await Task.Delay(150);
        }
        Assert.False(serverSawClose.Task.IsCompleted);

        // ...silence closes both sides.
        var quiet = DateTime.UtcNow;
        Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
        await serverSawClose.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(DateTime.UtcNow - quiet, TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Over_max_connections_a_new_connection_is_closed_and_the_others_go_on()
    {
        await using var backend = TcpBackend.Named("b");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port], top: "[global]\nmax_connections = 1"));
        using var first = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
        Assert.Equal("b", await first.ReadLineAsync());

        using var second = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
        Assert.True(await second.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));

        await first.SendAsync("still here\n");
        Assert.Equal("still here", await first.ReadLineAsync());
    }

    [Fact]
    public async Task Reload_keeps_the_tcp_listener_and_moves_new_connections_to_the_new_upstream()
    {
        await using var a = TcpBackend.Named("a");
        await using var b = TcpBackend.Named("b");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([a.Port]));
        int port = proxy.Port("tcp");
        using var before = await TcpTestClient.ConnectAsync(port);
        Assert.Equal("a", await before.ReadLineAsync());

        proxy.Reload(TcpConfigs.Forward([b.Port]));
        Assert.Equal(port, proxy.Port("tcp"));
        using var after = await TcpTestClient.ConnectAsync(port);
        Assert.Equal("b", await after.ReadLineAsync());

        // The connection accepted before the reload goes on with its server.
        await before.SendAsync("old\n");
        Assert.Equal("old", await before.ReadLineAsync());
    }

    [Fact]
    public async Task Tcp_and_http_listeners_serve_side_by_side()
    {
        await using var backend = TcpBackend.Named("tcp-backend");
        // (The [[listeners]] entries stay together: the config loader loses the first of them when another table
        // comes in between, which TOML allows.)
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "tcp"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "app"

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "hello"
            respond = { status = 200, body = "hello from http" }

            [upstreams.app]
            servers = [ {{TcpConfigs.Servers([backend.Port])}} ]
            """);
        using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
        Assert.Equal("tcp-backend", await client.ReadLineAsync());
        var http = await Processes.CurlAsync(proxy.Url().ToString());
        Assert.Equal("hello from http", http.StdOut);
    }

    /// <summary>A loopback port nothing listens on: connecting is refused at once.</summary>
    internal static int UnusedPort() => ProxyProcess.FreePort();
}
