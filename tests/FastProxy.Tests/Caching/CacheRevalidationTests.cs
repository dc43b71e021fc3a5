using System.Net.Http;
using System.Text;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Caching.CacheLoopbackTests;

namespace FastProxy.Tests.Caching;

/// <summary>
/// Stale entries: revalidated with the origin (a 304 refreshes them), served stale while a background refresh runs
/// (stale-while-revalidate), served stale when the origin fails (stale-if-error); concurrent misses coalesced.
/// </summary>
public sealed class CacheRevalidationTests
{
    /// <summary>Long enough for a max-age=1 entry to be stale (ages count whole seconds from the response's arrival).</summary>
    private static Task UntilStale() => Task.Delay(2100);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_stale_entry_is_revalidated_and_a_304_refreshes_it(bool h2)
    {
        await using var origin = new RawUpstream(r => r.Header("if-none-match") == "\"e1\""
            ? Encoding.ASCII.GetBytes("HTTP/1.1 304 Not Modified\r\nCache-Control: max-age=60\r\nETag: \"e1\"\r\nX-Refreshed: yes\r\n\r\n")
            : Answer("body-1", "Cache-Control: max-age=1\r\nETag: \"e1\"\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, h2, "/s", "-H", "Accept-Encoding: gzip");
        await UntilStale();
        var revalidated = await Curl(proxy, h2, "/s", "-H", "Accept-Encoding: gzip");
        var after = await Curl(proxy, h2, "/s", "-H", "Accept-Encoding: gzip");

        Assert.Equal("body-1", Encoding.UTF8.GetString(revalidated.Body));
        Assert.Equal("HIT", One(revalidated.Headers, "x-cache"));
        Assert.Equal("max-age=60", One(revalidated.Headers, "cache-control")); // the 304's fields replace the stored ones
        Assert.Equal("yes", One(revalidated.Headers, "x-refreshed"));
        Assert.Equal(("HIT", "body-1"), (One(after.Headers, "x-cache"), Encoding.UTF8.GetString(after.Body)));
        Assert.Equal(2, origin.Requests.Count);
        var check = origin.Requests[1];
        Assert.Equal("\"e1\"", check.Header("if-none-match"));
        Assert.Equal("gzip", check.Header("accept-encoding")); // the client's fields go with the check
        Assert.StartsWith("GET /s ", check.RequestLine);
    }

    [Fact]
    public async Task A_stale_entry_that_changed_is_replaced()
    {
        int n = 0;
        await using var origin = new RawUpstream(_ => Answer($"v{Interlocked.Increment(ref n)}", "Cache-Control: max-age=1\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/s");
        await UntilStale();
        var changed = await Curl(proxy, false, "/s");
        var again = await Curl(proxy, false, "/s");

        Assert.Equal("v2", Encoding.UTF8.GetString(changed.Body));
        Assert.Equal("Sun, 06 Nov 1994 08:49:37 GMT", origin.Requests[1].Header("if-modified-since"));
        Assert.Equal(("HIT", "v2"), (One(again.Headers, "x-cache"), Encoding.UTF8.GetString(again.Body)));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Stale_while_revalidate_answers_at_once_and_refreshes_once(bool h2)
    {
        using var gate = new ManualResetEventSlim(false);
        int n = 0;
        await using var origin = new RawUpstream(_ =>
        {
            // The refresh is held until the test has seen the stale answers: they cannot have waited for it.
            if (Interlocked.Increment(ref n) > 1) gate.Wait(TimeSpan.FromSeconds(20));
            return Answer($"v{Volatile.Read(ref n)}", "Cache-Control: max-age=1, stale-while-revalidate=60\r\n");
        });
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, h2, "/w");
        await UntilStale();
        var stale = new List<string?>();
        for (int i = 0; i < 4; i++)
        {
            var answer = await Curl(proxy, h2, "/w");
            Assert.Equal("v1", Encoding.UTF8.GetString(answer.Body));
            stale.Add(One(answer.Headers, "x-cache"));
        }
        gate.Set();
        string? body = null;
        for (int i = 0; i < 100 && body != "v2"; i++)
        {
            var answer = await Curl(proxy, h2, "/w");
            body = Encoding.UTF8.GetString(answer.Body);
            if (body != "v2") await Task.Delay(100);
        }

        Assert.All(stale, s => Assert.Equal("STALE", s));
        Assert.Equal("v2", body);
        Assert.Equal(2, origin.Requests.Count); // one refresh for four stale answers
    }

    [Fact]
    public async Task Stale_if_error_serves_the_entry_when_the_origin_fails_and_not_past_the_window()
    {
        int n = 0;
        await using var origin = new RawUpstream(_ => Interlocked.Increment(ref n) == 1
            ? Answer("good", "Cache-Control: max-age=1, stale-if-error=60\r\n")
            : Answer("down", "", 503));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/e");
        await UntilStale();
        var failed = await Curl(proxy, false, "/e");

        Assert.Equal(("STALE", "good"), (One(failed.Headers, "x-cache"), Encoding.UTF8.GetString(failed.Body)));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task Stale_if_error_serves_the_entry_when_the_origin_cannot_be_reached()
    {
        var origin = new RawUpstream(_ => Answer("good", "Cache-Control: max-age=1, stale-if-error=60\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, true, "/e");
        await origin.DisposeAsync();
        await UntilStale();
        var failed = await Curl(proxy, true, "/e");

        Assert.Equal(("STALE", "good"), (One(failed.Headers, "x-cache"), Encoding.UTF8.GetString(failed.Body)));
    }

    [Fact]
    public async Task Without_stale_if_error_a_failing_origin_is_not_hidden()
    {
        int n = 0;
        await using var origin = new RawUpstream(_ => Interlocked.Increment(ref n) == 1
            ? Answer("good", "Cache-Control: max-age=1\r\n", 200)
            : Answer("down", "", 503));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/e");
        await UntilStale();
        var failed = await Curl(proxy, false, "/e");

        Assert.Contains("503", failed.Status);
    }

    [Fact]
    public async Task A_hundred_concurrent_misses_make_one_origin_request()
    {
        using var gate = new ManualResetEventSlim(false);
        await using var origin = new RawUpstream(_ =>
        {
            gate.Wait(TimeSpan.FromSeconds(20));
            return Answer("shared", "Cache-Control: max-age=60\r\n");
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, "lock_timeout = \"20s\""));
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 100 }) { Timeout = TimeSpan.FromSeconds(60) };

        var requests = Enumerable.Range(0, 100).Select(_ => client.GetAsync(proxy.Url("/hot"))).ToArray();
        for (int i = 0; i < 200 && origin.Requests.Count == 0; i++) await Task.Delay(50);
        await Task.Delay(500); // let the others arrive and wait (any that come later find the entry)
        gate.Set();
        var responses = await Task.WhenAll(requests);

        foreach (var response in responses) Assert.Equal("shared", await response.Content.ReadAsStringAsync());
        Assert.Single(origin.Requests);
        Assert.Contains(responses, r => r.Headers.GetValues("x-cache").Single() == "HIT");
    }

    [Fact]
    public async Task When_the_first_response_is_not_storable_the_waiting_misses_all_go_to_the_origin()
    {
        using var gate = new ManualResetEventSlim(false);
        await using var origin = new RawUpstream(_ =>
        {
            gate.Wait(TimeSpan.FromSeconds(20));
            return Answer("mine", "Cache-Control: private\r\n");
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, "lock_timeout = \"20s\""));
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 10 }) { Timeout = TimeSpan.FromSeconds(60) };

        var requests = Enumerable.Range(0, 10).Select(_ => client.GetAsync(proxy.Url("/private"))).ToArray();
        for (int i = 0; i < 200 && origin.Requests.Count == 0; i++) await Task.Delay(50);
        await Task.Delay(300);
        gate.Set();
        var responses = await Task.WhenAll(requests);

        Assert.All(responses, r => Assert.Equal("MISS", r.Headers.GetValues("x-cache").Single()));
        Assert.Equal(10, origin.Requests.Count);
    }
}
