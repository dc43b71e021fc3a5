using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.JsonBodyLoopbackTests;

namespace FastProxy.Tests.Caching;

/// <summary>
/// cache and compress on one route (either order listed): the cache stores what the client receives, the gzip
/// variant with its Content-Encoding and Vary, so a hit is compressed once per entry (the stored bytes are served as
/// they are), and a client that does not accept gzip gets an identity entry of its own. curl over HTTP/1.1 and h2c,
/// an origin that counts its requests; the bodies go through the real `gzip -d`.
/// </summary>
public sealed class CacheCompressTests
{
    private static string Config(int upstreamPort, bool cacheFirst) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = {{(cacheFirst ? "[\"cache\", \"gz\"]" : "[\"gz\", \"cache\"]")}}

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        [policies.gz]
        type = "compress"

        [policies.cache]
        type = "cache"
        """;

    public static TheoryData<bool, bool, bool> Cases()
    {
        var data = new TheoryData<bool, bool, bool>();
        foreach (bool h2 in new[] { false, true })
            foreach (bool cacheFirst in new[] { false, true })
                foreach (bool close in new[] { false, true })
                    data.Add(h2, cacheFirst, close);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_gzip_variant_is_stored_and_served_and_identity_clients_get_their_own(bool h2, bool cacheFirst, bool closeDelimited)
    {
        var text = CompressLoopbackTests.Text(20_000);
        int calls = 0;
        await using var origin = new ScriptedOrigin(async (request, connection) =>
        {
            Interlocked.Increment(ref calls);
            string framing = closeDelimited ? "Connection: close" : $"Content-Length: {text.Length}";
            await connection.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\nETag: \"v1\"\r\n{framing}\r\n\r\n");
            await connection.SendAsync(text);
            if (closeDelimited) connection.Close();
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, cacheFirst));

        var first = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: gzip");
        Assert.Equal("MISS", CacheLoopbackTests.One(first.Headers, "x-cache"));
        Assert.Equal(["gzip"], Values(first.Headers, "content-encoding"));
        Assert.Equal(text, await CompressLoopbackTests.DecodeAsync("gzip", first.Body));
        Assert.Equal(1, Volatile.Read(ref calls));

        var hit = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: gzip");
        Assert.Equal("HIT", CacheLoopbackTests.One(hit.Headers, "x-cache"));
        Assert.Equal(["gzip"], Values(hit.Headers, "content-encoding"));
        Assert.Contains(Values(hit.Headers, "vary"), v => v.Contains("Accept-Encoding", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(["W/\"v1\""], Values(hit.Headers, "etag"));
        Assert.Equal(first.Body, hit.Body); // the stored encoded bytes: compressed once for the entry
        Assert.Equal(text, await CompressLoopbackTests.DecodeAsync("gzip", hit.Body));
        Assert.Equal(1, Volatile.Read(ref calls));

        // No Accept-Encoding: never the gzip entry; a miss of its own, stored as identity.
        var plain = await CacheLoopbackTests.Curl(proxy, h2, "/doc");
        Assert.Equal("MISS", CacheLoopbackTests.One(plain.Headers, "x-cache"));
        Assert.Empty(Values(plain.Headers, "content-encoding"));
        Assert.Equal(text, plain.Body);
        Assert.Equal(2, Volatile.Read(ref calls));

        var plainHit = await CacheLoopbackTests.Curl(proxy, h2, "/doc");
        Assert.Equal("HIT", CacheLoopbackTests.One(plainHit.Headers, "x-cache"));
        Assert.Empty(Values(plainHit.Headers, "content-encoding"));
        Assert.Equal(text, plainHit.Body);

        // Both variants stay: the gzip one still answers gzip clients.
        var again = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: gzip");
        Assert.Equal("HIT", CacheLoopbackTests.One(again.Headers, "x-cache"));
        Assert.Equal(first.Body, again.Body);
        Assert.Equal(2, Volatile.Read(ref calls));
    }
}
