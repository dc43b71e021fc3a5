using System.Net.Http;
using System.Text;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Observability;
using static FastProxy.Tests.Caching.CacheLoopbackTests;

namespace FastProxy.Tests.Caching;

/// <summary>The store's bound under ten times its size of traffic, purge on the admin listener, and the metrics.</summary>
public sealed class CacheStoreTests
{
    private static string WithAdmin(string config) => "[admin]\nbind = \"127.0.0.1:0\"\n\n" + config;

    [Fact]
    public async Task Memory_stays_under_max_size_while_ten_times_that_passes_through()
    {
        var body = new string('m', 3000);
        await using var origin = new RawUpstream(_ => Answer(body, "Cache-Control: max-age=600\r\n"));
        await using var proxy = TestProxy.Start(WithAdmin(Config(origin.Port, "max_size = \"64KiB\"\nmax_entry_size = \"4KiB\"", name: "bounded")));
        using var client = new HttpClient();

        long most = 0;
        // 3 KiB bodies, 220 URLs: about 660 KiB through a 64 KiB store.
        for (int i = 0; i < 220; i++)
        {
            Assert.Equal(body, await client.GetStringAsync(proxy.Url($"/m/{i}")));
            if (i % 20 == 19)
            {
                var scrape = await MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);
                most = Math.Max(most, (long)scrape.Value("fastproxy_cache_bytes", ("policy", "bounded"))!.Value);
            }
        }
        var end = await MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);
        var newest = await client.GetAsync(proxy.Url("/m/219"));
        var oldest = await client.GetAsync(proxy.Url("/m/0"));

        Assert.InRange(most, 32 * 1024, 64 * 1024);
        Assert.True(end.Value("fastproxy_cache_evictions_total", ("policy", "bounded")) >= 150);
        Assert.InRange(end.Value("fastproxy_cache_entries", ("policy", "bounded"))!.Value, 10, 21);
        Assert.Equal("HIT", newest.Headers.GetValues("x-cache").Single());
        Assert.Equal("MISS", oldest.Headers.GetValues("x-cache").Single()); // least recently used: evicted
        Assert.Equal(221, origin.Requests.Count);
    }

    [Fact]
    public async Task Purge_by_key_and_by_prefix_on_the_admin_listener()
    {
        await using var origin = new RawUpstream(_ => Answer("x", "Cache-Control: max-age=600\r\n"));
        await using var proxy = TestProxy.Start(WithAdmin(Config(origin.Port, name: "purged")));
        using var client = new HttpClient();
        foreach (var path in new[] { "/a/1?q=1", "/a/2", "/b/1" }) await client.GetAsync(proxy.Url(path));
        var admin = $"http://{proxy.Host.AdminEndPoint}";

        var byKey = await client.PostAsync($"{admin}/cache/purge?key={Uri.EscapeDataString("127.0.0.1/a/1?q=1")}", null);
        var byPrefix = await client.PostAsync($"{admin}/cache/purge?prefix={Uri.EscapeDataString("127.0.0.1/a/")}&policy=purged", null);
        var unknown = await client.PostAsync($"{admin}/cache/purge?prefix=x&policy=nope", null);
        var get = await client.GetAsync($"{admin}/cache/purge?prefix=x");

        Assert.Equal("{\"purged\":1}\n", await byKey.Content.ReadAsStringAsync());
        Assert.Equal("{\"purged\":1}\n", await byPrefix.Content.ReadAsStringAsync());
        Assert.Equal(404, (int)unknown.StatusCode);
        Assert.Equal(405, (int)get.StatusCode);
        Assert.Equal("MISS", (await client.GetAsync(proxy.Url("/a/1?q=1"))).Headers.GetValues("x-cache").Single());
        Assert.Equal("MISS", (await client.GetAsync(proxy.Url("/a/2"))).Headers.GetValues("x-cache").Single());
        Assert.Equal("HIT", (await client.GetAsync(proxy.Url("/b/1"))).Headers.GetValues("x-cache").Single());
    }

    [Fact]
    public async Task Requests_are_counted_by_result()
    {
        // Cache counters live for the process, by policy name (they survive reloads): a name no other test uses.
        await using var origin = new RawUpstream(_ => Answer("x", "Cache-Control: max-age=600\r\n"));
        await using var proxy = TestProxy.Start(WithAdmin(Config(origin.Port, name: "tallied")));
        using var client = new HttpClient();

        await client.GetAsync(proxy.Url("/k"));
        // The entry is stored before the last byte of the miss is flushed to the client: the next two are hits.
        Assert.Equal(1, (await MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!)).Value("fastproxy_cache_entries", ("policy", "tallied")));
        await client.GetAsync(proxy.Url("/k"));
        await client.GetAsync(proxy.Url("/k"));
        await client.PostAsync(proxy.Url("/k"), new StringContent("x"));
        var m = await MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);
        await MetricsScrape.CheckAsync(m.Text);

        Assert.Equal(1, m.Value("fastproxy_cache_requests_total", ("policy", "tallied"), ("result", "miss")));
        Assert.Equal(2, m.Value("fastproxy_cache_requests_total", ("policy", "tallied"), ("result", "hit")));
        Assert.Equal(1, m.Value("fastproxy_cache_requests_total", ("policy", "tallied"), ("result", "bypass")));
        Assert.Equal(0, m.Value("fastproxy_cache_entries", ("policy", "tallied"))); // the POST invalidated it
    }
}
