using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Tls;

/// <summary>[listeners.hsts] as `fastproxy check` sees it: the header value built from the keys, and file:line:col refusals.</summary>
public sealed class HstsConfigTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>A TLS listener (lines 1-7), then <paramref name="hsts"/> from line 8, then a route.</summary>
    private string Tls(string hsts)
    {
        var site = _files.SelfSigned("site", "site.example.com");
        return $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"
            {{hsts}}

            [[routes]]
            respond = { status = 200 }
            """;
    }

    [Theory]
    [InlineData("[listeners.hsts]", "max-age=31536000")]
    [InlineData("[listeners.hsts]\nmax_age = \"2h\"\ninclude_subdomains = true", "max-age=7200; includeSubDomains")]
    [InlineData("[listeners.hsts]\nmax_age = \"17520h\"\ninclude_subdomains = true\npreload = true", "max-age=63072000; includeSubDomains; preload")]
    [InlineData("[listeners.hsts]\nmax_age = \"0s\"", "max-age=0")]
    public void The_field_value_follows_the_keys(string hsts, string value)
    {
        var listener = Assert.Single(ConfigText.Load(Tls(hsts)).Listeners);
        Assert.Equal(value, listener.Hsts!.Value);
    }

    [Fact]
    public void An_inline_table_on_the_listener_works_too()
    {
        var site = _files.SelfSigned("site", "site.example.com");
        var config = ConfigText.Load($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            hsts = { max_age = "8760h", include_subdomains = true, preload = true }
            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"

            [[routes]]
            respond = { status = 200 }
            """);
        Assert.Equal("max-age=31536000; includeSubDomains; preload", Assert.Single(config.Listeners).Hsts!.Value);
    }

    [Fact]
    public void A_listener_without_hsts_has_none()
    {
        Assert.Null(Assert.Single(ConfigText.Load(Tls("")).Listeners).Hsts);
    }

    [Fact]
    public void Hsts_on_a_plain_listener_is_refused_at_its_key()
    {
        Assert.Equal(
            "proxy.toml:4:8: listeners[0].hsts: needs TLS on this listener ([[listeners.tls]]): browsers ignore Strict-Transport-Security received over plain HTTP (RFC 6797 §8.1)",
            ConfigText.Error("""
                [[listeners]]
                name = "web"
                bind = "127.0.0.1:0"
                hsts = { max_age = "8760h" }

                [[routes]]
                respond = { status = 200 }
                """));
    }

    [Fact]
    public void Hsts_on_a_tcp_listener_is_refused()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "db"
            [listeners.hsts]

            [upstreams.db]
            servers = ["127.0.0.1:5432"]
            """);
        Assert.StartsWith("proxy.toml:6:1: listeners[0].hsts: a tcp listener relays bytes", error);
    }

    [Theory]
    [InlineData("max_age = \"8760h\"\npreload = true",
        "proxy.toml:11:11: listeners[0].hsts.preload: the HSTS preload list requires include_subdomains = true")]
    [InlineData("max_age = \"8759h\"\ninclude_subdomains = true\npreload = true",
        "proxy.toml:12:11: listeners[0].hsts.preload: the HSTS preload list requires max_age of at least one year (\"8760h\"); max_age is 31532400s")]
    [InlineData("max_age = \"365d\"",
        "proxy.toml:10:11: listeners[0].hsts.max_age: invalid duration \"365d\": durations have no day unit, write \"8760h\" for 365 days")]
    [InlineData("max_age = \"1500ms\"",
        "proxy.toml:10:11: listeners[0].hsts.max_age: must be whole seconds: max-age counts seconds (RFC 6797 §6.1.1)")]
    [InlineData("max_age = 3600",
        "proxy.toml:10:11: listeners[0].hsts.max_age: expected a duration string such as \"5s\", got an integer")]
    [InlineData("include_subdomain = true",
        "proxy.toml:10:1: listeners[0].hsts.include_subdomain: unknown key (did you mean \"include_subdomains\"?)")]
    public void Hsts_errors_name_the_key(string keys, string message)
    {
        Assert.Equal(message, ConfigText.Error(Tls("\n[listeners.hsts]\n" + keys)));
    }

    [Fact]
    public void A_hsts_key_written_on_the_listener_says_where_it_belongs()
    {
        var error = ConfigText.Error(Tls("").Replace("bind = \"127.0.0.1:0\"", "bind = \"127.0.0.1:0\"\nmax_age = \"8760h\"", StringComparison.Ordinal));
        Assert.Equal("proxy.toml:4:1: listeners[0].max_age: unknown key (it belongs in [listeners.hsts])", error);
    }
}
