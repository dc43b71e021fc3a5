using System.Diagnostics;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tcp;

/// <summary>Tcp listeners honour the shared server health: ejected or down servers are not connected to.</summary>
public sealed class TcpHealthTests
{
    [Fact]
    public async Task Connect_failures_eject_a_server_for_tcp_listeners_too()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        int dead = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "pg"

            [upstreams.pg]
            servers = [ { address = "127.0.0.1:{{dead}}" }, { address = "127.0.0.1:{{a.Port}}" } ]
            [upstreams.pg.passive]
            consecutive_failures = 2
            eject = "30s"
            """);
        var deadServer = proxy.Host.Runtime.Upstreams["pg"].Servers[0];

        for (int i = 0; i < 8; i++)
        {
            using var client = new WireClient(proxy.Port("db"));
            Assert.Equal("a", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).BodyText);
        }

        Assert.True(deadServer.Health.Ejected);
        // Two failures ejected it; after that no connect was tried on it.
        Assert.Equal(2, deadServer.Health.Failures);
    }

    [Fact]
    public async Task Every_server_down_closes_a_tcp_client_at_once()
    {
        int dead = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "pg"

            [upstreams.pg]
            servers = [ { address = "127.0.0.1:{{dead}}" } ]
            connect_timeout = "5s"
            [upstreams.pg.health]
            type = "tcp"
            interval = "100ms"
            unhealthy = 1
            """);
        var server = proxy.Host.Runtime.Upstreams["pg"].Servers[0];
        await Wait.UntilAsync(() => !server.State.IsAvailable, "the server down");
        long failures = server.Health.Failures;

        using var client = new RawClient(proxy.Port("db"));
        var watch = Stopwatch.StartNew();
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(3)));
        Assert.True(watch.ElapsedMilliseconds < 1000, $"took {watch.ElapsedMilliseconds} ms");
        Assert.Equal(failures, server.Health.Failures);
    }
}
