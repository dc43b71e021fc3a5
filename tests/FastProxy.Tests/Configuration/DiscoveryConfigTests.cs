using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

/// <summary>The discovery keys: resolve_interval, servers_file and [dns], with file:line:col errors.</summary>
public sealed class DiscoveryConfigTests
{
    private static ConfigLoadResult Parse(string upstream, string top = "") => ConfigLoader.Parse($$"""
        {{top}}
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        {{upstream}}
        """, "test.toml", AppContext.BaseDirectory);

    [Fact]
    public void Resolve_interval_defaults_to_30s_and_zero_turns_it_off()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), Parse("servers = [\"127.0.0.1:9000\"]").Config!.Upstreams[0].ResolveInterval);
        Assert.Equal(TimeSpan.Zero, Parse("servers = [\"127.0.0.1:9000\"]\nresolve_interval = \"0s\"").Config!.Upstreams[0].ResolveInterval);
        var error = Assert.Single(Parse("servers = [\"127.0.0.1:9000\"]\nresolve_interval = \"soon\"").Errors);
        Assert.Contains("upstreams.app.resolve_interval", error.ToString());
    }

    [Fact]
    public void Servers_and_servers_file_are_exclusive()
    {
        var error = Assert.Single(Parse("servers = [\"127.0.0.1:9000\"]\nservers_file = \"s.toml\"").Errors);
        Assert.Contains("test.toml:", error.ToString());
        Assert.Contains("cannot both be set", error.Message);
    }

    [Fact]
    public void A_missing_servers_file_is_an_error_at_the_key()
    {
        var error = Assert.Single(Parse("servers_file = \"no-such-servers.toml\"").Errors);
        Assert.Equal("upstreams.app.servers_file", error.Key);
        Assert.Contains("does not exist", error.Message);
    }

    [Fact]
    public void Dns_servers_are_ip_literals_with_an_optional_port()
    {
        var config = Parse("servers = [\"127.0.0.1:9000\"]", "[dns]\nservers = [\"127.0.0.1\", \"10.0.0.2:5353\", \"[::1]:53\"]\ntimeout = \"500ms\"").Config!;
        Assert.Equal(["127.0.0.1:53", "10.0.0.2:5353", "[::1]:53"], config.Dns!.Servers.Select(s => s.ToString()));
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.Dns.Timeout);

        var error = Assert.Single(Parse("servers = [\"127.0.0.1:9000\"]", "[dns]\nservers = [\"ns.example.com:53\"]").Errors);
        Assert.Equal("dns.servers[0]", error.Key);
        Assert.StartsWith("test.toml:2:", error.ToString());
    }

    [Fact]
    public void A_name_that_the_dns_servers_do_not_know_fails_the_load()
    {
        // An unused loopback port: nothing answers, so the load says so rather than hanging.
        var result = Parse("servers = [\"nothing.invalid:9000\"]", "[dns]\nservers = [\"127.0.0.1:9\"]\ntimeout = \"200ms\"");
        var error = Assert.Single(result.Errors);
        Assert.Contains("cannot resolve host \"nothing.invalid\"", error.Message);
    }
}
