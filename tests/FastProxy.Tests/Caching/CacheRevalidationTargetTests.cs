using System.Text;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Caching.CacheLoopbackTests;

namespace FastProxy.Tests.Caching;

/// <summary>
/// The cache's own requests (revalidation of a stale entry, stale-while-revalidate's background refresh) ask for the
/// target the upstream got when the entry was fetched: the path rewrite set (whichever side of the cache it is listed
/// on) and the query as policies edited it, not the client's. The origin here only knows the rewritten path.
/// </summary>
public sealed class CacheRevalidationTargetTests
{
    private static Task UntilStale() => Task.Delay(2100);

    private static string Config(int upstreamPort, bool cacheFirst, string cacheKeys = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = [{{(cacheFirst ? "\"c\", \"rw\"" : "\"rw\", \"c\"")}}]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        [policies.rw]
        type = "rewrite"
        pattern = "^/public/(.*)$"
        replacement = "/internal/$1"
        query = { set = { "via" = "gw" }, remove = ["debug"] }

        [policies.c]
        type = "cache"
        {{cacheKeys}}
        """;

    /// <summary>The origin answers /internal/... only (anything else: 404, not storable).</summary>
    private static Func<UpstreamRequest, byte[]> Origin(Func<UpstreamRequest, byte[]> known)
        => r => r.RequestLine.StartsWith("GET /internal/", StringComparison.Ordinal)
            ? known(r)
            : Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nContent-Length: 7\r\nCache-Control: no-store\r\n\r\nunknown");

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task Revalidation_asks_for_the_rewritten_path_and_edited_query(bool h2, bool cacheFirst)
    {
        await using var origin = new RawUpstream(Origin(r => r.Header("if-none-match") == "\"e1\""
            ? Encoding.ASCII.GetBytes("HTTP/1.1 304 Not Modified\r\nCache-Control: max-age=60\r\nETag: \"e1\"\r\n\r\n")
            : Answer("body-1", "Cache-Control: max-age=1\r\nETag: \"e1\"\r\n")));
        await using var proxy = TestProxy.Start(Config(origin.Port, cacheFirst));

        var first = await Curl(proxy, h2, "/public/s?debug=1&k=v");
        await UntilStale();
        var revalidated = await Curl(proxy, h2, "/public/s?debug=1&k=v");

        Assert.Equal(("MISS", "body-1"), (One(first.Headers, "x-cache"), Encoding.UTF8.GetString(first.Body)));
        Assert.Equal(2, origin.Requests.Count);
        var check = origin.Requests[1];
        Assert.Equal("GET /internal/s?k=v&via=gw HTTP/1.1", check.RequestLine);
        Assert.Equal("\"e1\"", check.Header("if-none-match"));
        Assert.Equal(("HIT", "body-1"), (One(revalidated.Headers, "x-cache"), Encoding.UTF8.GetString(revalidated.Body)));
        Assert.Equal("max-age=60", One(revalidated.Headers, "cache-control"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_background_refresh_asks_for_the_rewritten_path(bool h2)
    {
        int n = 0;
        await using var origin = new RawUpstream(Origin(_ =>
            Answer($"v{Interlocked.Increment(ref n)}", "Cache-Control: max-age=1, stale-while-revalidate=60\r\n")));
        await using var proxy = TestProxy.Start(Config(origin.Port, cacheFirst: true));

        await Curl(proxy, h2, "/public/w");
        await UntilStale();
        var stale = await Curl(proxy, h2, "/public/w");
        string? body = null;
        for (int i = 0; i < 100 && body != "v2"; i++)
        {
            var answer = await Curl(proxy, h2, "/public/w");
            body = Encoding.UTF8.GetString(answer.Body);
            if (body != "v2") await Task.Delay(100);
        }

        Assert.Equal(("STALE", "v1"), (One(stale.Headers, "x-cache"), Encoding.UTF8.GetString(stale.Body)));
        Assert.Equal("v2", body);
        Assert.All(origin.Requests, r => Assert.StartsWith("GET /internal/w?via=gw ", r.RequestLine));
        Assert.Equal(2, origin.Requests.Count);
    }
}
