using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Hosting;

/// <summary>Reload: in-flight requests finish on the old configuration, whose upstream connections are then closed, and health carries over.</summary>
public sealed class ReloadTests
{
    [Fact]
    public async Task A_request_in_flight_at_a_reload_finishes_and_its_upstream_connection_is_closed_not_pooled()
    {
        var release = new TaskCompletionSource();
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            if (r.RequestLine.StartsWith("GET /slow", StringComparison.Ordinal)) await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        string config = TestProxy.SimpleConfig([origin.Port]);
        await using var proxy = TestProxy.Start(config);
        var oldServer = proxy.Host.Runtime.Upstreams["app"].Servers[0];
        using var client = new WireClient(proxy.Port());
        var pending = client.RoundTripAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        await origin.WaitForRequestsAsync(1);

        proxy.Reload(config);
        release.SetResult();
        var response = await pending;

        Assert.Equal(200, response.Status);
        Assert.Equal("ok", response.BodyText);
        // Before the fix the connection went back to the old generation's pool, which nothing sweeps any more.
        Assert.Equal(0, oldServer.Pool.IdleCount);
        await Wait.UntilAsync(() => origin.ClosedByPeer == 1, "the old generation's connection closed by the proxy");
        // The client's connection itself goes on, on the new configuration (a new upstream connection).
        var next = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, next.Status);
        Assert.Equal(2, origin.Connections);
    }

    [Fact]
    public async Task A_reload_binds_added_listeners_and_stops_removed_ones_while_their_requests_finish()
    {
        var release = new TaskCompletionSource();
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            if (r.RequestLine.StartsWith("GET /slow", StringComparison.Ordinal)) await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        string Config(string second) => $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            [[listeners]]
            name = "{{second}}"
            bind = "127.0.0.1:0"
            [[routes]]
            upstream = "app"
            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{origin.Port}}" } ]
            """;
        await using var proxy = TestProxy.Start(Config("old"));
        int webPort = proxy.Port("web"), oldPort = proxy.Port("old");
        using var onOld = new WireClient(oldPort);
        var pending = onOld.RoundTripAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", TimeSpan.FromSeconds(15));
        await origin.WaitForRequestsAsync(1);

        proxy.Reload(Config("new"));

        // The added listener serves at once; the kept one keeps its port and serves.
        using (var onNew = new WireClient(proxy.Port("new")))
            Assert.Equal(200, (await onNew.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        Assert.Equal(webPort, proxy.Port("web"));
        using (var onWeb = new WireClient(webPort))
            Assert.Equal(200, (await onWeb.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        // The removed one accepts nothing more...
        await Wait.UntilAsync(() => !Accepts(oldPort), "the removed listener's socket closed");
        // ...but the request it was carrying is answered in full.
        release.SetResult();
        var response = await pending;
        Assert.Equal(200, response.Status);
        Assert.Equal("ok", response.BodyText);
    }

    private static bool Accepts(int port)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            socket.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_server_down_or_ejected_stays_so_across_a_reload()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var b = new RawUpstream(_ => RawUpstream.Status(500));
        string config = TestProxy.SimpleConfig([a.Port, b.Port], extraUpstream: """
            [upstreams.app.passive]
            consecutive_failures = 1
            eject = "30s"
            """);
        await using var proxy = TestProxy.Start(config);
        using var client = new WireClient(proxy.Port());
        for (int i = 0; i < 2; i++) await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.True(proxy.Host.Runtime.Upstreams["app"].Servers[1].Health.Ejected);

        proxy.Reload(config);

        var upstream = proxy.Host.Runtime.Upstreams["app"];
        Assert.True(upstream.Servers[1].Health.Ejected);
        Assert.Equal(1, upstream.Outliers.EjectedCount);
        for (int i = 0; i < 6; i++) Assert.Equal("a", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).BodyText);
        Assert.Single(b.Requests);
    }
}
