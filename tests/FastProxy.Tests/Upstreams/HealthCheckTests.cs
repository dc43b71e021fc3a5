using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>[upstreams.X.health]: active HTTP and TCP checks take servers out of every balancer and bring them back.</summary>
public sealed class HealthCheckTests
{
    private const string FastChecks = """
        [upstreams.app.health]
        path = "/healthz"
        interval = "100ms"
        timeout = "500ms"
        unhealthy = 2
        healthy = 2
        expect = "200-299"
        """;

    private static bool IsCheck(UpstreamRequest r) => r.RequestLine.StartsWith("GET /healthz ", StringComparison.Ordinal);

    [Theory]
    [InlineData("round_robin")]
    [InlineData("least_conn")]
    [InlineData("ip_hash")]
    [InlineData("weighted")]
    public async Task A_server_failing_its_checks_gets_no_traffic_and_returns_after_passing_again(string balance)
    {
        var bHealthy = new StrongBox<bool>(false);
        await using var a = new RawUpstream(r => IsCheck(r) ? RawUpstream.Ok("up") : RawUpstream.Ok("a"));
        await using var b = new RawUpstream(r => IsCheck(r) ? RawUpstream.Status(Volatile.Read(ref bHealthy.Value) ? 200 : 503) : RawUpstream.Ok("b"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, b.Port], balance, extraUpstream: FastChecks));
        var serverB = proxy.Host.Runtime.Upstreams["app"].Servers[1];

        await Wait.UntilAsync(() => !serverB.State.IsAvailable, "b marked down by its checks");
        Assert.True(b.Requests.Count(IsCheck) >= 2);
        using (var client = new WireClient(proxy.Port()))
        {
            for (int i = 0; i < 20; i++)
            {
                var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                Assert.Equal("a", response.BodyText);
            }
        }
        Assert.DoesNotContain(b.Requests, r => !IsCheck(r));

        int checksBefore = b.Requests.Count(IsCheck);
        Volatile.Write(ref bHealthy.Value, true);
        await Wait.UntilAsync(() => serverB.State.IsAvailable, "b back after passing checks");
        // `healthy = 2`: one pass is not enough.
        Assert.True(b.Requests.Count(IsCheck) - checksBefore >= 2);

        var seen = new HashSet<string>();
        for (int i = 0; i < 40 && seen.Count < 2; i++)
        {
            // A new connection per request: ip_hash spreads by client address, so only the others alternate; all of
            // them pick b for some request now that it is up, except ip_hash which keeps this client on one server.
            using var client = new WireClient(proxy.Port());
            seen.Add((await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).BodyText);
        }
        if (balance != "ip_hash") Assert.Contains("b", seen);
    }

    [Fact]
    public async Task Every_server_down_is_503_at_once_without_trying_to_connect()
    {
        await using var a = new RawUpstream(r => IsCheck(r) ? RawUpstream.Status(500) : RawUpstream.Ok("a"));
        await using var b = new RawUpstream(r => IsCheck(r) ? RawUpstream.Status(500) : RawUpstream.Ok("b"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, b.Port], extraUpstream: FastChecks));
        var servers = proxy.Host.Runtime.Upstreams["app"].Servers;
        await Wait.UntilAsync(() => servers.All(s => !s.State.IsAvailable), "both servers down");
        int connectionsBefore = a.Connections + b.Connections;

        using var client = new WireClient(proxy.Port());
        var watch = Stopwatch.StartNew();
        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        watch.Stop();

        Assert.Equal(503, response.Status);
        Assert.Equal("503 Service Unavailable\n", response.BodyText);
        Assert.True(watch.ElapsedMilliseconds < 1000, $"took {watch.ElapsedMilliseconds} ms");
        Assert.DoesNotContain(a.Requests, r => !IsCheck(r));
        Assert.DoesNotContain(b.Requests, r => !IsCheck(r));
        // The connection survives a 503 for a whole request.
        var again = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(503, again.Status);
    }

    [Fact]
    public async Task A_check_that_times_out_or_is_refused_counts_as_failed()
    {
        // a never answers its checks (its checks time out); the other server's port refuses connections.
        await using var a = new ScriptedOrigin(async (r, c) => { if (!IsCheck(r)) await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"); });
        int refused = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, refused], extraUpstream: FastChecks.Replace("timeout = \"500ms\"", "timeout = \"200ms\"")));
        var servers = proxy.Host.Runtime.Upstreams["app"].Servers;

        await Wait.UntilAsync(() => servers.All(s => !s.State.IsAvailable), "both servers down");
        Assert.False(servers[0].Health.ActiveUp);
        Assert.False(servers[1].Health.ActiveUp);
    }

    [Fact]
    public async Task Tcp_checks_take_a_dead_server_out_of_a_tcp_listener_and_bring_it_back_when_it_listens_again()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        int bPort = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "pg"

            [upstreams.pg]
            servers = [ { address = "127.0.0.1:{{a.Port}}" }, { address = "127.0.0.1:{{bPort}}" } ]
            [upstreams.pg.health]
            type = "tcp"
            interval = "100ms"
            timeout = "500ms"
            unhealthy = 1
            healthy = 1
            """);
        var serverB = proxy.Host.Runtime.Upstreams["pg"].Servers[1];
        await Wait.UntilAsync(() => !serverB.State.IsAvailable, "b down");

        // No connect is even tried on b now: every connection goes straight to a, none fails over.
        long failuresBefore = serverB.Health.Failures;
        for (int i = 0; i < 6; i++) Assert.Equal("a", await TcpRoundTripAsync(proxy.Port("db")));
        Assert.Equal(failuresBefore, serverB.Health.Failures);

        await using var b = new RawUpstream(_ => RawUpstream.Ok("b"), port: bPort);
        await Wait.UntilAsync(() => serverB.State.IsAvailable, "b back once it listens");
        var seen = new HashSet<string>();
        for (int i = 0; i < 6; i++) seen.Add(await TcpRoundTripAsync(proxy.Port("db")));
        Assert.Equal(["a", "b"], seen.Order());
    }

    private static async Task<string> TcpRoundTripAsync(int port)
    {
        using var client = new WireClient(port);
        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        return response.BodyText;
    }
}
