using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.JsonBodyLoopbackTests;

namespace FastProxy.Tests.Caching;

/// <summary>
/// cache and compress (zstd, br and gzip offered) on one route: a zstd client's variant is stored apart from a gzip
/// client's and from the identity one (the cache keys Accept-Encoding by the codings a client takes), each hit serves
/// its own stored bytes, and nothing is served to a client that did not ask for its coding. curl over HTTP/1.1 and h2c,
/// an origin that counts its requests; bodies decoded by the real `zstd -d` and `gzip -d`.
/// </summary>
public sealed class CacheZstdTests
{
    private static string Config(int upstreamPort) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["cache", "zc"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        [policies.zc]
        type = "compress"
        encodings = ["zstd", "br", "gzip"]

        [policies.cache]
        type = "cache"
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_zstd_variant_is_stored_apart_from_gzip_and_identity(bool h2)
    {
        var text = CompressLoopbackTests.Text(20_000);
        int calls = 0;
        await using var origin = new ScriptedOrigin(async (request, connection) =>
        {
            Interlocked.Increment(ref calls);
            await connection.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=60\r\nContent-Length: {text.Length}\r\n\r\n");
            await connection.SendAsync(text);
        });
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var zstd = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: zstd");
        Assert.Equal("MISS", CacheLoopbackTests.One(zstd.Headers, "x-cache"));
        Assert.Equal(["zstd"], Values(zstd.Headers, "content-encoding"));
        Assert.Equal(text, await CompressLoopbackTests.DecodeAsync("zstd", zstd.Body));

        var gzip = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: gzip");
        Assert.Equal("MISS", CacheLoopbackTests.One(gzip.Headers, "x-cache"));
        Assert.Equal(["gzip"], Values(gzip.Headers, "content-encoding"));
        Assert.Equal(text, await CompressLoopbackTests.DecodeAsync("gzip", gzip.Body));
        Assert.Equal(2, Volatile.Read(ref calls));

        // Hits: each client its own variant, the stored bytes as they were.
        var zstdHit = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: zstd");
        Assert.Equal("HIT", CacheLoopbackTests.One(zstdHit.Headers, "x-cache"));
        Assert.Equal(["zstd"], Values(zstdHit.Headers, "content-encoding"));
        Assert.Contains(Values(zstdHit.Headers, "vary"), v => v.Contains("Accept-Encoding", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(zstd.Body, zstdHit.Body);
        var gzipHit = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: gzip");
        Assert.Equal("HIT", CacheLoopbackTests.One(gzipHit.Headers, "x-cache"));
        Assert.Equal(gzip.Body, gzipHit.Body);
        Assert.Equal(2, Volatile.Read(ref calls));

        // A client without zstd never gets the zstd entry.
        var plain = await CacheLoopbackTests.Curl(proxy, h2, "/doc", "-H", "Accept-Encoding: identity");
        Assert.Equal("MISS", CacheLoopbackTests.One(plain.Headers, "x-cache"));
        Assert.Empty(Values(plain.Headers, "content-encoding"));
        Assert.Equal(text, plain.Body);
        Assert.Equal(3, Volatile.Read(ref calls));
    }
}
