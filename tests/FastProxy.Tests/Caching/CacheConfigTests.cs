using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Caching;

/// <summary>[policies.NAME] type = "cache" in `fastproxy check`: defaults, and each mistake at its file:line:col.</summary>
public sealed class CacheConfigTests
{
    // Lines: 1-3 listener, 4 blank, 5 [[routes]], 6 upstream, 7 policies, 8 blank, 9-10 upstream, 11 blank, 12 [policies.c], 13 type, 14 the first key.
    private static string Config(string body) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        upstream = "app"
        policies = ["c"]

        [upstreams.app]
        servers = ["127.0.0.1:9"]

        [policies.c]
        type = "cache"
        {{body}}
        """;

    private static CacheOptions Load(string body) =>
        Assert.IsType<CacheOptions>(Assert.Single(ConfigText.Load(Config(body)).Policies).Options);

    [Fact]
    public void Defaults_store_only_what_responses_allow()
    {
        var o = Load("");
        Assert.Equal(256L * 1024 * 1024, o.MaxSize);
        Assert.Equal(1024 * 1024, o.MaxEntrySize);
        Assert.Equal(TimeSpan.Zero, o.DefaultTtl);
        Assert.True(o.Get && o.Head);
        Assert.True(o.KeyHost && o.KeyPath && o.KeyQuery);
        Assert.True(o.PerConsumer);
        Assert.Equal(TimeSpan.FromHours(1), o.StaleWhileRevalidate);
        Assert.Equal(TimeSpan.FromHours(1), o.StaleIfError);
        Assert.Equal(TimeSpan.FromSeconds(5), o.LockTimeout);
    }

    [Fact]
    public void Every_key_is_read()
    {
        var o = Load("""
            max_size = "64MiB"
            max_entry_size = "64KiB"
            default_ttl = "30s"
            methods = ["GET"]
            key = ["path", "query"]
            stale_while_revalidate = "10s"
            stale_if_error = "0s"
            per_consumer = false
            lock_timeout = "0s"
            """);
        Assert.Equal(64L * 1024 * 1024, o.MaxSize);
        Assert.Equal(64 * 1024, o.MaxEntrySize);
        Assert.Equal(TimeSpan.FromSeconds(30), o.DefaultTtl);
        Assert.True(o.Get);
        Assert.False(o.Head);
        Assert.False(o.KeyHost);
        Assert.True(o.KeyPath && o.KeyQuery);
        Assert.Equal(TimeSpan.FromSeconds(10), o.StaleWhileRevalidate);
        Assert.Equal(TimeSpan.Zero, o.StaleIfError);
        Assert.False(o.PerConsumer);
        Assert.Equal(TimeSpan.Zero, o.LockTimeout);
    }

    [Theory]
    [InlineData("max_size = \"lots\"", "proxy.toml:14:12: policies.c.max_size:")]
    [InlineData("max_entry_size = \"2MiB\"\nmax_size = \"1MiB\"", "proxy.toml:14:18: policies.c.max_entry_size: must be at most max_size (1MiB)")]
    [InlineData("methods = [\"GET\", \"POST\"]", "proxy.toml:14:19: policies.c.methods[1]: \"POST\" cannot be served from a cache")]
    [InlineData("key = [\"path\", \"cookie\"]", "proxy.toml:14:16: policies.c.key[1]: unknown key part \"cookie\"")]
    [InlineData("key = [\"host\"]", "proxy.toml:14:7: policies.c.key: must include \"path\"")]
    [InlineData("default_ttl = \"soon\"", "proxy.toml:14:15: policies.c.default_ttl:")]
    [InlineData("max_age = \"1m\"", "proxy.toml:14:1: policies.c.max_age: unknown key")]
    public void Mistakes_are_reported_where_they_are(string body, string expected)
    {
        Assert.StartsWith(expected, ConfigText.Error(Config(body)));
    }
}
