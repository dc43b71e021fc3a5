using System.Diagnostics;
using System.Text;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Caching.CacheLoopbackTests;

namespace FastProxy.Tests.Caching;

/// <summary>
/// A coalesced miss whose response another response-side policy takes (json_body rewrites the body, error_pages with
/// only_proxy_errors = false replaces it) never reaches the cache's capture stage: the fill it leads must still end
/// when the request ends, so the requests waiting behind it for the same URL go on at once, not after lock_timeout.
/// </summary>
public sealed class CacheFillEndTests
{
    private const int Waiters = 5;

    private static string Config(int upstreamPort, string other, string otherPolicy) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["c", "{{other}}"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        [policies.c]
        type = "cache"
        lock_timeout = "30s"

        {{otherPolicy}}
        """;

    private const string JsonBody = """
        [policies.j]
        type = "json_body"
        response = { add = { "served_by" = "fp" } }
        """;

    private const string ErrorPages = """
        [policies.p]
        type = "error_pages"
        statuses = ["404"]
        only_proxy_errors = false
        """;

    /// <summary>
    /// The first request is held at the origin until the others have arrived (and wait for its fill); once it is let
    /// go, every request must be answered within 5 s (lock_timeout is 30 s: before the fix the waiters sat it out).
    /// </summary>
    private static async Task<List<(string Status, List<(string Name, string Value)> Headers, byte[] Body)>> RunAsync(
        bool h2, string other, string policy, Func<int, byte[]> answer, string path)
    {
        using var gate = new ManualResetEventSlim(false);
        int n = 0;
        await using var origin = new RawUpstream(_ =>
        {
            int i = Interlocked.Increment(ref n);
            if (i == 1) gate.Wait(TimeSpan.FromSeconds(20));
            return answer(i);
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, other, policy));

        var first = Curl(proxy, h2, path);
        for (int i = 0; i < 200 && origin.Requests.Count == 0; i++) await Task.Delay(50);
        Assert.Single(origin.Requests);
        var waiters = Enumerable.Range(0, Waiters).Select(_ => Curl(proxy, h2, path)).ToArray();
        await Task.Delay(1000); // the others arrive and wait for the first one's fill (none reaches the origin meanwhile)
        Assert.Single(origin.Requests);

        var released = Stopwatch.StartNew();
        gate.Set();
        var all = await Task.WhenAll([first, .. waiters]);
        var elapsed = released.Elapsed;

        Assert.True(elapsed < TimeSpan.FromSeconds(5), $"the waiting requests took {elapsed.TotalSeconds:F1} s after the first was answered");
        return [.. all];
    }

    private static byte[] Json(int i)
    {
        string body = "{\"n\":" + i + "}";
        return Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=60\r\nContent-Length: {body.Length}\r\n\r\n{body}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Waiters_behind_a_miss_that_json_body_rewrites_go_on_at_once(bool h2)
    {
        var all = await RunAsync(h2, "j", JsonBody,
            Json,
            "/doc");

        foreach (var (status, _, body) in all)
        {
            Assert.EndsWith("200" + (h2 ? "" : " OK"), status);
            Assert.Contains("\"served_by\":\"fp\"", Encoding.UTF8.GetString(body));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Waiters_behind_a_miss_whose_body_error_pages_replaces_go_on_at_once(bool h2)
    {
        var all = await RunAsync(h2, "p", ErrorPages,
            _ => Encoding.ASCII.GetBytes("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\nContent-Length: 7\r\n\r\nmissing"),
            "/gone");

        foreach (var (status, _, body) in all)
        {
            Assert.Contains("404", status);
            Assert.DoesNotContain("missing", Encoding.UTF8.GetString(body));
        }
    }
}
