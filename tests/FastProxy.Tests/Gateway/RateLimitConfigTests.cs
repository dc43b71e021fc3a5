using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "rate_limit" in `fastproxy check`: what loads, and each mistake at its file:line:col.</summary>
public sealed class RateLimitConfigTests
{
    private static string Policy(string body, string consumers = "") =>
        ConfigText.Minimal + "\npolicies = [\"rl\"]\n\n[policies.rl]\ntype = \"rate_limit\"\n" + body + "\n" + consumers;

    // Minimal is 6 lines; then the route's policies (7), a blank line, the header (9), type (10), the first key (11).
    private const int FirstKeyLine = 11;

    private static RateLimitOptions Load(string body, string consumers = "") =>
        Assert.IsType<RateLimitOptions>(Assert.Single(ConfigText.Load(Policy(body, consumers)).Policies).Options);

    [Fact]
    public void A_rate_alone_loads_with_the_defaults()
    {
        var options = Load("rate = \"100/m\"");
        Assert.Equal(new RateLimitRate(100, TimeSpan.FromMinutes(1)), options.Rate);
        Assert.Equal([RateLimitKeyPart.Ip], options.Key);
        Assert.Null(options.Burst);
        Assert.Empty(options.Plans);
        Assert.Equal(RateLimitStoreKind.Local, options.Store);
        Assert.Equal(RateLimitStoreErrorMode.Allow, options.OnStoreError);
        Assert.True(options.Headers);
        Assert.False(options.LegacyHeaders);
        Assert.Equal(100_000, options.MaxKeys);
    }

    [Theory]
    [InlineData("5/s", 5, 1)]
    [InlineData("100/m", 100, 60)]
    [InlineData("1000/h", 1000, 3600)]
    [InlineData("10000/d", 10000, 86400)]
    [InlineData("30/10s", 30, 10)]
    public void Rates_per_unit_or_per_duration(string rate, long count, int seconds)
    {
        Assert.Equal(new RateLimitRate(count, TimeSpan.FromSeconds(seconds)), Load($"rate = \"{rate}\"").Rate);
    }

    [Fact]
    public void Limit_and_window_every_key_and_plans_load()
    {
        var options = Load("""
            key = ["consumer", "route", "header:X-Tenant", "ip"]
            limit = 60
            window = "1m"
            burst = 10
            plans = { gold = "1000/m", free = "10/m" }
            on_store_error = "deny"
            headers = false
            legacy_headers = true
            max_keys = 5000
            """, "[consumers.a]\nplan = \"gold\"\n[consumers.b]\nplan = \"free\"\n");
        Assert.Equal(["consumer", "route", "header:x-tenant", "ip"], options.Key.Select(k => k.ToString()));
        Assert.Equal(new RateLimitRate(60, TimeSpan.FromMinutes(1)), options.Rate);
        Assert.Equal(10, options.Burst);
        Assert.Equal(["gold", "free"], options.Plans.Select(p => p.Key));
        Assert.Equal(new RateLimitRate(10, TimeSpan.FromMinutes(1)), options.Plans[1].Value);
        Assert.Equal(RateLimitStoreErrorMode.Deny, options.OnStoreError);
        Assert.False(options.Headers);
        Assert.True(options.LegacyHeaders);
        Assert.Equal(5000, options.MaxKeys);
    }

    [Fact]
    public void No_rate_is_an_error_at_the_table()
    {
        Assert.Equal("proxy.toml:9:1: policies.rl: missing the rate: write rate = \"100/m\" (per \"s\", \"m\", \"h\" or \"d\"), or limit = 100 with window = \"1m\"",
            ConfigText.Error(Policy("")));
    }

    [Theory]
    [InlineData("rate = \"100/m\"\nlimit = 5", "proxy.toml:11:8: policies.rl.rate: give either rate = \"100/m\" or limit = 100 with window = \"1m\", not both")]
    [InlineData("limit = 100", "proxy.toml:11:9: policies.rl.limit: a limit needs its window, e.g. window = \"1m\" (or write rate = \"100/m\")")]
    [InlineData("limit = 0\nwindow = \"1m\"", "proxy.toml:11:9: policies.rl.limit: must be between 1 and 1000000000, got 0")]
    [InlineData("rate = \"100/week\"", "proxy.toml:11:8: policies.rl.rate: invalid rate \"100/week\": per \"s\", \"m\", \"h\" or \"d\" (e.g. \"100/m\"), or per a duration (e.g. \"100/10s\")")]
    [InlineData("rate = \"many/m\"", "proxy.toml:11:8: policies.rl.rate: invalid rate \"many/m\": write a whole number of requests per \"s\", \"m\", \"h\" or \"d\", e.g. \"100/m\"")]
    [InlineData("rate = \"2000000/s\"", "proxy.toml:11:8: policies.rl.rate: invalid rate \"2000000/s\": more than 1000000 requests per second cannot be told apart (the stores count in microseconds)")]
    [InlineData("rate = \"1/m\"\nburst = 0", "proxy.toml:12:9: policies.rl.burst: must be between 1 and 1000000000, got 0")]
    [InlineData("rate = \"1/d\"\nburst = 1000", "proxy.toml:12:9: policies.rl.burst: a burst of 1000 at 1 per 1.00:00:00 spans more than 366 days; lower it")]
    [InlineData("rate = \"1/m\"\nkey = \"user\"", "proxy.toml:12:7: policies.rl.key: unknown key part \"user\" (known: \"ip\", \"consumer\", \"route\", \"header:NAME\")")]
    [InlineData("rate = \"1/m\"\nkey = [\"ip\", \"ip\"]", "proxy.toml:12:14: policies.rl.key[1]: \"ip\" is listed twice")]
    [InlineData("rate = \"1/m\"\nkey = \"header:host\"", "proxy.toml:12:7: policies.rl.key: \"host\" is a field the proxy handles itself; key on another header")]
    [InlineData("rate = \"1/m\"\nkey = \"header:a b\"", "proxy.toml:12:7: policies.rl.key: \"a b\" is not a header name (write e.g. \"header:x-tenant\")")]
    [InlineData("rate = \"1/m\"\nstore = \"memcached\"", "proxy.toml:12:9: policies.rl.store: unknown store \"memcached\" (known: local, redis)")]
    [InlineData("rate = \"1/m\"\non_store_error = \"ignore\"", "proxy.toml:12:18: policies.rl.on_store_error: unknown mode \"ignore\" (known: allow, deny)")]
    [InlineData("rate = \"1/m\"\nmax_keys = 3", "proxy.toml:12:12: policies.rl.max_keys: must be between 16 and 100000000, got 3")]
    [InlineData("rate = \"1/m\"\nplans = { gold = 5 }", "proxy.toml:12:18: policies.rl.plans.gold: expected a rate such as \"1000/m\", got an integer")]
    public void Mistakes_are_reported_at_their_key(string body, string error)
    {
        Assert.Equal(error, ConfigText.Error(Policy(body)));
    }

    [Fact]
    public void A_plan_no_consumer_has_is_an_error()
    {
        Assert.Equal("proxy.toml:12:18: policies.rl.plans.glod: no [consumers.NAME] has plan = \"glod\" (plans consumers have: gold)",
            ConfigText.Error(Policy("rate = \"1/m\"\nplans = { glod = \"100/m\" }", "[consumers.a]\nplan = \"gold\"\n")));
    }

    [Fact]
    public void An_unknown_key_is_suggested()
    {
        Assert.Contains($"proxy.toml:{FirstKeyLine + 1}:1: policies.rl.brust: unknown key (did you mean \"burst\"?)",
            ConfigText.Errors(Policy("rate = \"1/m\"\nbrust = 5")));
    }
}
