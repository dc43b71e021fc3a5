using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>[upstreams.X.limits]: beyond max_requests in flight or max_pending connects, 503 at once.</summary>
public sealed class CircuitBreakerTests
{
    [Fact]
    public async Task Requests_beyond_max_requests_get_503_at_once_and_the_others_are_served()
    {
        var release = new TaskCompletionSource();
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraUpstream: """
            [upstreams.app.limits]
            max_requests = 2
            max_pending = 10
            """));

        using var first = new WireClient(proxy.Port());
        using var second = new WireClient(proxy.Port());
        var r1 = first.RoundTripAsync("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
        var r2 = second.RoundTripAsync("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
        await origin.WaitForRequestsAsync(2);

        // Repeated on several connections: per-connection state is pooled, so a refusal must not depend on what the
        // previous user of that state left behind.
        for (int i = 0; i < 5; i++)
        {
            using var other = new WireClient(proxy.Port());
            var early = await other.RoundTripAsync("GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(503, early.Status);
            var again = await other.RoundTripAsync("GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(503, again.Status);
        }
        using var third = new WireClient(proxy.Port());
        var watch = Stopwatch.StartNew();
        var refused = await third.RoundTripAsync("GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(503, refused.Status);
        Assert.True(watch.ElapsedMilliseconds < 1000, $"took {watch.ElapsedMilliseconds} ms");
        Assert.Equal(2, origin.Requests.Count);

        release.SetResult();
        Assert.Equal(200, (await r1).Status);
        Assert.Equal(200, (await r2).Status);
        // Capacity is back once they finished.
        var after = await third.RoundTripAsync("GET /4 HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(200, after.Status);
        // The refused request was consumed whole: the next one on that connection is /4, and /3 never reached the server.
        Assert.Equal(["GET /1", "GET /2", "GET /4"], origin.Requests.Select(r => r.RequestLine[..6]).Order());
        Assert.Equal(11, proxy.Host.Runtime.Upstreams["app"].Limits.Rejected);
    }

    [Fact]
    public async Task Connects_beyond_max_pending_get_503_at_once()
    {
        // A listener whose backlog is full never completes a connect: connects to it hang until connect_timeout.
        using var blackhole = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blackhole.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blackhole.Listen(0);
        var port = ((IPEndPoint)blackhole.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(s);
                _ = s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            }
            await Task.Delay(100);
            await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([port], extraUpstream: """
                connect_timeout = "2s"
                [upstreams.app.limits]
                max_pending = 1
                """));

            using var first = new WireClient(proxy.Port());
            var pending = first.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n", TimeSpan.FromSeconds(10));
            await Wait.UntilAsync(() => proxy.Host.Runtime.Upstreams["app"].Limits.Pending == 1, "one connect pending");

            using var second = new WireClient(proxy.Port());
            var watch = Stopwatch.StartNew();
            var refused = await second.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(503, refused.Status);
            Assert.True(watch.ElapsedMilliseconds < 1000, $"took {watch.ElapsedMilliseconds} ms");

            Assert.Equal(502, (await pending).Status);
        }
        finally
        {
            foreach (var s in fillers) s.Dispose();
        }
    }
}
