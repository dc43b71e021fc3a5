using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>[upstreams.X.retry]: idempotent requests that fail before anything reached the client go to another server.</summary>
public sealed class RetryTests
{
    private const string Retry = """
        [upstreams.app.retry]
        attempts = 1
        budget_percent = 20
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_get_that_a_server_closes_or_resets_without_answering_is_answered_by_the_other(bool reset)
    {
        await using var broken = new ScriptedOrigin((r, c) =>
        {
            if (reset) c.Reset(); else c.Close();
            return Task.CompletedTask;
        });
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([broken.Port, good.Port], extraUpstream: Retry));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 6; i++)
        {
            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(200, response.Status);
            Assert.Equal("good", response.BodyText);
        }
        // Each retry's pick moves the rotation past the good server, so the broken one is tried first every time.
        Assert.Equal(6, broken.Requests.Count);
        Assert.Equal(6, good.Requests.Count);
    }

    [Fact]
    public async Task A_post_whose_body_was_sent_is_never_retried()
    {
        await using var broken = new ScriptedOrigin((r, c) => { c.Close(); return Task.CompletedTask; });
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([broken.Port, good.Port], extraUpstream: Retry.Replace("attempts = 1", "attempts = 3")));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");

        Assert.Equal(502, response.Status);
        Assert.Single(broken.Requests);
        Assert.Equal("hello", Encoding.ASCII.GetString(broken.Requests[0].Body));
        Assert.Empty(good.Requests);
    }

    [Fact]
    public async Task Without_a_retry_section_a_failed_get_is_502()
    {
        await using var broken = new ScriptedOrigin((r, c) => { c.Close(); return Task.CompletedTask; });
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([broken.Port, good.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(502, response.Status);
        Assert.Empty(good.Requests);
    }

    [Fact]
    public async Task Attempts_bound_the_retries_and_each_goes_to_a_server_not_tried_yet()
    {
        // Three broken servers, one good one, one retry: round robin starts at the first broken server, so the
        // retry lands on the second broken one and the client gets the 502; no server sees the request twice.
        var origins = new List<ScriptedOrigin>();
        for (int i = 0; i < 3; i++) origins.Add(new ScriptedOrigin((r, c) => { c.Close(); return Task.CompletedTask; }));
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        try
        {
            await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([.. origins.Select(o => o.Port), good.Port], extraUpstream: Retry));
            using var client = new WireClient(proxy.Port());

            var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");

            Assert.Equal(502, response.Status);
            Assert.Equal(2, origins.Sum(o => o.Requests.Count));
            Assert.All(origins, o => Assert.InRange(o.Requests.Count, 0, 1));
            Assert.Empty(good.Requests);
        }
        finally
        {
            foreach (var o in origins) await o.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_response_that_started_is_never_retried()
    {
        // The head reached the client: a reset after it must cut the client off, not restart elsewhere.
        await using var broken = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial");
            await Task.Delay(50);
            c.Reset();
        });
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([broken.Port, good.Port], extraUpstream: Retry));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.False(response.Complete);
        Assert.Equal("partial", response.BodyText);
        Assert.True(await client.IsClosedAsync());
        Assert.Empty(good.Requests);
    }

    [Fact]
    public async Task A_chunked_response_reset_mid_body_is_an_error_for_curl_never_a_complete_body()
    {
        await using var broken = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\npartia\r\n");
            await Task.Delay(100);
            c.Reset();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([broken.Port], extraUpstream: Retry));

        var result = await Processes.CurlAsync("-o", "-", "-w", "\n%{http_code}", proxy.Url().ToString());

        // curl: (18) transfer closed with outstanding read data remaining.
        Assert.Equal(18, result.ExitCode);
        Assert.StartsWith("partia", result.StdOut);
        Assert.Single(broken.Requests);
    }

    [Fact]
    public async Task A_timeout_is_not_retried()
    {
        // The slow server may still be working on it: sending it elsewhere would double the load of a struggling upstream.
        await using var slow = new ScriptedOrigin(async (r, c) => await Task.Delay(3000));
        await using var good = new RawUpstream(_ => RawUpstream.Ok("good"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([slow.Port, good.Port], extraUpstream: "response_timeout = \"300ms\"\n" + Retry));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");

        Assert.Equal(504, response.Status);
        Assert.Empty(good.Requests);
    }

    [Fact]
    public async Task The_retry_budget_caps_retries_in_flight()
    {
        // budget_percent = 0 leaves the floor: 3 retries in flight at once. The good server holds each request for
        // 1.5 s, so all retries overlap; every request that failed first on the broken server beyond those 3 gets 502.
        await using var broken = new ScriptedOrigin((r, c) => { c.Close(); return Task.CompletedTask; });
        await using var slowGood = new ScriptedOrigin(async (r, c) =>
        {
            await Task.Delay(1500);
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([broken.Port, slowGood.Port], extraUpstream: """
            [upstreams.app.retry]
            attempts = 1
            budget_percent = 0
            """));

        var clients = Enumerable.Range(0, 12).Select(_ => new WireClient(proxy.Port())).ToList();
        try
        {
            var replies = await Task.WhenAll(clients.Select(c => c.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n", TimeSpan.FromSeconds(15))));
            int failedFirst = broken.Requests.Count;
            Assert.True(failedFirst >= 4, $"{failedFirst} requests went to the broken server first");
            Assert.Equal(failedFirst - 3, replies.Count(r => r.Status == 502));
            Assert.Equal(12 - (failedFirst - 3), replies.Count(r => r.Status == 200));
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }
}
