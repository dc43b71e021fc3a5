using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>[upstreams.X.passive]: servers failing live traffic are ejected, for longer each time, never too many.</summary>
public sealed class OutlierDetectionTests
{
    private static string Passive(string eject = "600ms", int percent = 50) => $$"""
        [upstreams.app.passive]
        consecutive_failures = 3
        eject = "{{eject}}"
        max_ejected_percent = {{percent}}
        """;

    [Fact]
    public async Task A_server_answering_5xx_is_ejected_after_consecutive_failures_and_returns_after_eject()
    {
        var failing = new System.Runtime.CompilerServices.StrongBox<bool>(true);
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var b = new RawUpstream(_ => Volatile.Read(ref failing.Value) ? RawUpstream.Status(502, "b broken") : RawUpstream.Ok("b"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, b.Port], extraUpstream: Passive(eject: "1s")));
        var serverB = proxy.Host.Runtime.Upstreams["app"].Servers[1];
        using var client = new WireClient(proxy.Port());

        // Round robin: b gets every second request; its third 5xx in a row ejects it.
        for (int i = 0; i < 6; i++) await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(3, b.Requests.Count);
        Assert.True(serverB.Health.Ejected);
        Assert.False(serverB.State.IsAvailable);
        Assert.Equal(1, serverB.Health.Ejections);

        for (int i = 0; i < 10; i++)
        {
            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal("a", response.BodyText);
        }
        Assert.Equal(3, b.Requests.Count);

        Volatile.Write(ref failing.Value, false);
        await Wait.UntilAsync(() => serverB.State.IsAvailable, "b back after its ejection", TimeSpan.FromSeconds(5));
        var seen = new HashSet<string>();
        for (int i = 0; i < 4; i++) seen.Add((await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).BodyText);
        Assert.Equal(["a", "b"], seen.Order());
    }

    [Fact]
    public async Task A_server_that_keeps_failing_is_ejected_for_longer_each_time()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        int dead = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, dead], extraUpstream: Passive(eject: "500ms")));
        var serverB = proxy.Host.Runtime.Upstreams["app"].Servers[1];
        using var client = new WireClient(proxy.Port());

        // Connect failures count: the requests themselves fail over to a, so every one is answered.
        async Task DriveUntilEjected(int ejections)
        {
            for (int i = 0; i < 200 && serverB.Health.Ejections < ejections; i++)
            {
                var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                Assert.Equal("a", response.BodyText);
                await Task.Delay(10);
            }
            Assert.Equal(ejections, serverB.Health.Ejections);
        }

        await DriveUntilEjected(1);
        long first = serverB.Health.EjectedUntilMs - Environment.TickCount64;
        Assert.InRange(first, 1, 500);
        await DriveUntilEjected(2);
        long second = serverB.Health.EjectedUntilMs - Environment.TickCount64;
        // The second ejection is eject x 2: more than one eject is left right after it starts.
        Assert.InRange(second, 501, 1000);
    }

    [Fact]
    public async Task No_more_than_max_ejected_percent_of_the_servers_are_ejected()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Status(500, "a"));
        await using var b = new RawUpstream(_ => RawUpstream.Status(500, "b"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, b.Port], extraUpstream: Passive(eject: "30s", percent: 50)));
        var servers = proxy.Host.Runtime.Upstreams["app"].Servers;
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 20; i++)
        {
            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            // Never a 503: one server always stays in, and its answers (even 5xx) are passed on.
            Assert.Equal(500, response.Status);
        }
        Assert.Equal(1, servers.Count(s => s.Health.Ejected));
        Assert.Equal(1, proxy.Host.Runtime.Upstreams["app"].Outliers.EjectedCount);
    }

    [Fact]
    public async Task Without_a_passive_section_nothing_is_ejected()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var b = new RawUpstream(_ => RawUpstream.Status(500, "b"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, b.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 20; i++) await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(10, b.Requests.Count);
        Assert.Equal(10, proxy.Host.Runtime.Upstreams["app"].Servers[1].Health.Failures);
    }
}
