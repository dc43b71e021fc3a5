using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>Pooled keep-alive connections to upstream servers: reused, and replaced when the server has closed them.</summary>
public sealed class ConnectionPoolTests
{
    [Fact]
    public async Task Keep_alive_connections_are_reused_across_requests_and_clients()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));

        for (int i = 0; i < 10; i++)
        {
            using var client = new WireClient(proxy.Port());
            for (int j = 0; j < 5; j++)
            {
                Assert.Equal("conn=1", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
            }
        }

        Assert.Equal(50, upstream.Requests.Count);
        Assert.Equal(1, upstream.Connections);
    }

    [Fact]
    public async Task A_client_that_asks_again_at_once_on_a_new_connection_finds_the_upstream_connection_pooled()
    {
        // The upstream connection goes back to the pool as soon as the response has been read from it, before the
        // last bytes reach the client: a client that has its answer can never get there first and force a new one.
        string pad = "X-Pad: " + new string('p', 2000) + "\r\n";
        await using var upstream = new RawUpstream(r => r.RequestLine.StartsWith("HEAD")
            ? System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n{pad}\r\n")
            : RawUpstream.Ok("x", pad));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));

        for (int i = 0; i < 200; i++)
        {
            using var client = new WireClient(proxy.Port());
            var response = await client.RoundTripAsync(i % 2 == 0 ? "GET / HTTP/1.1\r\nHost: a\r\n\r\n" : "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.Equal(200, response.Status);
        }

        Assert.Equal(1, upstream.Connections);
    }

    [Fact]
    public async Task Bodies_of_every_framing_leave_the_connection_reusable()
    {
        int n = 0;
        await using var upstream = new RawUpstream(r => (Interlocked.Increment(ref n) % 3) switch
        {
            0 => RawUpstream.Ok("length"),
            1 => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nchunked\r\n0\r\n\r\n"u8.ToArray(),
            _ => "HTTP/1.1 204 No Content\r\n\r\n"u8.ToArray(),
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 9; i++)
        {
            var response = await client.RoundTripAsync(i % 2 == 0
                ? "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
                : "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
            Assert.True(response.Complete);
        }

        Assert.Equal(1, upstream.Connections);
    }

    [Fact]
    public async Task A_connection_the_server_closed_while_idle_is_replaced()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        Assert.Equal("conn=1", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
        upstream.CloseAllConnections();
        Assert.Equal("conn=2", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
        upstream.CloseAllConnections();
        await Task.Delay(100);
        Assert.Equal("conn=3", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);

        Assert.Equal(3, upstream.Connections);
    }

    [Fact]
    public async Task An_origin_that_closes_after_every_response_without_saying_so_still_serves_every_get()
    {
        // No "Connection: close": the proxy pools each connection and finds it closed (or about to be) on reuse.
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            c.Close();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 20; i++)
        {
            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.Equal(200, response.Status);
            Assert.Equal("ok", response.BodyText);
        }
        Assert.Equal(20, origin.Connections);
    }

    [Fact]
    public async Task An_origin_that_says_connection_close_is_not_reused()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"conn={r.ConnectionId}", "Connection: close\r\n"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 1; i <= 3; i++)
        {
            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.Equal($"conn={i}", response.BodyText);
            // The origin's close is about its own connection; the client's stays open.
            Assert.False(response.Has("Connection"));
        }
    }

    // The keep-alive race, made certain: a connection's second request is met by the origin closing it unanswered,
    // as when a server's idle timeout fires just as the proxy reuses the connection.

    [Fact]
    public async Task A_get_on_a_reused_connection_that_dies_unanswered_is_retried_on_a_fresh_one()
    {
        var perConnection = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            if (perConnection.AddOrUpdate(r.ConnectionId, 1, (_, n) => n + 1) == 2)
            {
                c.Close();
                return;
            }
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nconn={r.ConnectionId}");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        Assert.Equal("conn=1", (await client.RoundTripAsync("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
        var second = await client.RoundTripAsync("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(200, second.Status);
        Assert.Equal("conn=2", second.BodyText);
        Assert.Equal(["GET /1 HTTP/1.1", "GET /2 HTTP/1.1", "GET /2 HTTP/1.1"], origin.Requests.Select(r => r.RequestLine));
    }

    [Fact]
    public async Task A_post_on_a_reused_connection_that_dies_unanswered_is_not_retried()
    {
        var perConnection = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            if (perConnection.AddOrUpdate(r.ConnectionId, 1, (_, n) => n + 1) == 2)
            {
                c.Close();
                return;
            }
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        var post = await client.RoundTripAsync("POST /order HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nitems");

        // The origin may have acted on it: sending it again could order twice.
        Assert.Equal(502, post.Status);
        Assert.Single(origin.Requests, r => r.RequestLine.StartsWith("POST"));
    }

    [Fact]
    public async Task An_upgrade_on_a_reused_connection_that_dies_unanswered_is_retried_on_a_fresh_one()
    {
        // A WebSocket handshake is a GET with no body: nothing of it can have been acted on, so it is as safe to retry.
        var perConnection = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            if (perConnection.AddOrUpdate(r.ConnectionId, 1, (_, n) => n + 1) == 2)
            {
                c.Close();
                return;
            }
            if (r.Header("Upgrade") is not null)
            {
                await c.SendAsync("HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n");
                return;
            }
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        using (var first = new WireClient(proxy.Port()))
        {
            Assert.Equal(200, (await first.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        }
        using var client = new WireClient(proxy.Port());
        var response = await client.RoundTripAsync("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n");

        Assert.Equal(101, response.Status);
        Assert.Equal(2, origin.Connections);
    }

    [Fact]
    public async Task An_http10_origin_response_without_keep_alive_is_not_pooled()
    {
        await using var upstream = new RawUpstream(r => System.Text.Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nconn={r.ConnectionId}"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 1; i <= 3; i++)
        {
            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.Equal($"conn={i}", response.BodyText);
            Assert.StartsWith("HTTP/1.1 200", response.Head);
        }
    }

    [Fact]
    public async Task A_post_right_after_the_server_closed_the_pooled_connection_is_never_sent_twice()
    {
        // Whether the proxy notices the close before reusing the connection (a fresh one: 200) or only after writing
        // the POST to it (502), the origin must see the POST at most once.
        await using var upstream = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
            upstream.CloseAllConnections();
            var post = await client.RoundTripAsync($"POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx");
            Assert.True(post.Status is 200 or 502, $"status {post.Status}");
            Assert.InRange(upstream.Requests.Count(r => r.RequestLine == $"POST /{i} HTTP/1.1"), post.Status == 200 ? 1 : 0, 1);
        }
    }

    [Fact]
    public async Task A_post_after_the_server_closed_the_idle_connection_goes_on_a_fresh_one()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"conn={r.ConnectionId} {r.Body.Length}"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        upstream.CloseAllConnections();
        // Time for the close to reach the proxy: the pool then knows the connection is dead before using it.
        await Task.Delay(200);
        var post = await client.RoundTripAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");

        Assert.Equal("conn=2 3", post.BodyText);
    }

    [Fact]
    public async Task Max_idle_per_server_bounds_the_pool()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            if (r.RequestLine.Contains("/hold")) await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraUpstream: "max_idle_per_server = 2"));

        // Four requests at once need four connections; afterwards only two are kept.
        var clients = Enumerable.Range(0, 4).Select(_ => new WireClient(proxy.Port())).ToList();
        try
        {
            foreach (var client in clients) client.Send("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
            await origin.WaitForRequestsAsync(4);
            release.SetResult();
            foreach (var client in clients) Assert.Equal(200, (await client.ReadFinalResponseAsync()).Status);
        }
        finally
        {
            release.TrySetResult();
            foreach (var client in clients) client.Dispose();
        }
        Assert.Equal(4, origin.Connections);
        await WaitUntilAsync(() => origin.ClosedByPeer == 2);
        await Task.Delay(100);
        Assert.Equal(2, origin.ClosedByPeer);

        // Sequential requests now reuse the two pooled connections: no new connection is opened.
        for (int i = 0; i < 6; i++)
        {
            using var client = new WireClient(proxy.Port());
            Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        }
        Assert.Equal(4, origin.Connections);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(10);
    }
}
