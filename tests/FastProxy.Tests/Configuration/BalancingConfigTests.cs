using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

/// <summary>balance = "consistent_hash" | "p2c", hash_key and sticky: read, defaulted, refused with file:line:col.</summary>
public class BalancingConfigTests
{
    // The upstream starts on line 8, its first key on line 9.
    private const string Head = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        upstream = "api"


        """;

    private static UpstreamConfig Load(string keys) => Assert.Single(ConfigText.Load(Head + "[upstreams.api]\nservers = [\"127.0.0.1:9001\"]\n" + keys).Upstreams);

    [Theory]
    [InlineData("", HashKeyKind.Ip, null)]
    [InlineData("hash_key = \"ip\"", HashKeyKind.Ip, null)]
    [InlineData("hash_key = \"path\"", HashKeyKind.Path, null)]
    [InlineData("hash_key = \"header:X-User-Id\"", HashKeyKind.Header, "x-user-id")]
    [InlineData("hash_key = \"cookie:Session\"", HashKeyKind.Cookie, "Session")]
    public void Consistent_hash_reads_its_key(string key, HashKeyKind kind, string? name)
    {
        var api = Load("balance = \"consistent_hash\"\n" + key);
        Assert.Equal(BalanceKind.ConsistentHash, api.Balance);
        Assert.Equal((kind, name), (api.HashKey.Kind, api.HashKey.Name));
    }

    [Fact]
    public void P2c_and_sticky_are_read_with_defaults()
    {
        var api = Load("balance = \"p2c\"\nsticky = { cookie = \"srv\" }");
        Assert.Equal(BalanceKind.PowerOfTwoChoices, api.Balance);
        var sticky = api.Sticky!;
        Assert.Equal(("srv", null, "/", true, false), (sticky.Cookie, sticky.Ttl, sticky.Path, sticky.HttpOnly, sticky.Secure));

        var full = Load("sticky = { cookie = \"s\", ttl = \"2h\", path = \"/app\", httponly = false, secure = true }").Sticky!;
        Assert.Equal(("s", TimeSpan.FromHours(2), "/app", false, true), (full.Cookie, full.Ttl, full.Path, full.HttpOnly, full.Secure));
        Assert.Null(Load("").Sticky);
    }

    [Theory]
    [InlineData("balance = \"least_conn\"\nhash_key = \"ip\"", "11:12: upstreams.api.hash_key: only applies with balance = \"consistent_hash\"")]
    [InlineData("hash_key = \"ip\"", "10:12: upstreams.api.hash_key: only applies with balance = \"consistent_hash\"")]
    [InlineData("balance = \"consistent_hash\"\nhash_key = \"query\"", "11:12: upstreams.api.hash_key: unknown hash_key \"query\" (known: \"ip\", \"header:NAME\", \"cookie:NAME\", \"path\")")]
    [InlineData("balance = \"consistent_hash\"\nhash_key = \"header:\"", "11:12: upstreams.api.hash_key: \"header:\": header:NAME needs a header name (a token: letters, digits, !#$%&'*+-.^_`|~)")]
    [InlineData("balance = \"consistent_hash\"\nhash_key = \"cookie:a b\"", "11:12: upstreams.api.hash_key: \"cookie:a b\": cookie:NAME needs a cookie name (a token: letters, digits, !#$%&'*+-.^_`|~)")]
    [InlineData("sticky = { cookie = \"a;b\" }", "10:21: upstreams.api.sticky.cookie: \"a;b\" is not a valid cookie name (a token: letters, digits, !#$%&'*+-.^_`|~)")]
    [InlineData("sticky = { ttl = \"1h\" }", "10:10: upstreams.api.sticky: missing required key \"cookie\"")]
    [InlineData("sticky = { cookie = \"s\", path = \"x\" }", "10:33: upstreams.api.sticky.path: \"x\" must start with / and hold no ';', ',', space or control character")]
    [InlineData("sticky = { cookie = \"s\", domain = \"x\" }", "")]
    [InlineData("balance = \"random\"", "")]
    public void Bad_balancing_keys_are_refused_where_they_are(string keys, string message)
    {
        var errors = ConfigText.Errors(Head + "[upstreams.api]\nservers = [\"127.0.0.1:9001\"]\n" + keys);
        if (message.Length == 0)
        {
            Assert.NotEmpty(errors);
            Assert.All(errors, e => Assert.StartsWith("proxy.toml:10:", e));
        }
        else
        {
            Assert.Equal([$"proxy.toml:{message}"], errors);
        }
    }
}
