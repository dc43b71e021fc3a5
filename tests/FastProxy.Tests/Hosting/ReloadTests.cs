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
