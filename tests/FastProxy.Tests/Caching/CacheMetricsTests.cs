using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Caching;

/// <summary>Cache hits are answers, not refusals: /metrics counts them in fastproxy_cache_requests_total only.</summary>
public sealed class CacheMetricsTests
{
    [Fact]
    public async Task Hits_are_not_counted_as_policy_rejections()
    {
        await using var origin = new RawUpstream(_ => CacheLoopbackTests.Answer("x", "Cache-Control: max-age=60\r\n"));
        await using var proxy = TestProxy.Start("[admin]\nbind = \"127.0.0.1:0\"\n\n" + CacheLoopbackTests.Config(origin.Port, name: "counted"));

        await CacheLoopbackTests.Curl(proxy, false, "/m");
        var hit = await CacheLoopbackTests.Curl(proxy, false, "/m");
        Assert.Equal("HIT", CacheLoopbackTests.One(hit.Headers, "x-cache"));

        var scrape = await Observability.MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);
        Assert.True(scrape.Value("fastproxy_cache_requests_total", ("policy", "counted"), ("result", "hit")) >= 1);
        Assert.Null(scrape.Value("fastproxy_policy_rejections_total", ("policy", "counted"), ("type", "cache"), ("reason", "hit")));
    }
}
