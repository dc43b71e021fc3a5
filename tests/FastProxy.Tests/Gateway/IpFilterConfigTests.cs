using System.Net;
using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "ip_filter" in `fastproxy check`: what loads, and each mistake at its file:line:col.</summary>
public sealed class IpFilterConfigTests
{
    private static string Policy(string body) => ConfigText.Minimal + "\npolicies = [\"edge\"]\n\n[policies.edge]\ntype = \"ip_filter\"\n" + body;

    // Minimal is 6 lines; then the route's policies (7), a blank line, the header (9), type (10), the first key (11).
    private const int FirstKeyLine = 11;

    private static IpFilterOptions Load(string body) =>
        Assert.IsType<IpFilterOptions>(Assert.Single(ConfigText.Load(Policy(body)).Policies).Options);

    [Fact]
    public void Allow_deny_and_status_load()
    {
        var options = Load("allow = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\"]\ndeny = [\"10.6.6.0/24\"]\nstatus = 404\n");
        Assert.Equal(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"], options.Allow!.Select(b => b.ToString()));
        Assert.Equal(["10.6.6.0/24"], options.Deny.Select(b => b.ToString()));
        Assert.Equal(404, options.Status);
    }

    [Fact]
    public void Defaults_no_allow_list_and_403()
    {
        var options = Load("deny = [\"203.0.113.0/24\"]\n");
        Assert.Null(options.Allow);
        Assert.Equal(403, options.Status);
    }

    [Fact]
    public void Neither_list_is_an_error_at_the_table()
    {
        Assert.Equal("proxy.toml:9:1: policies.edge: an ip_filter needs allow, deny or both (e.g. allow = [\"10.0.0.0/8\"])",
            ConfigText.Error(Policy("")));
    }

    [Fact]
    public void An_empty_allow_list_is_an_error()
    {
        Assert.StartsWith($"proxy.toml:{FirstKeyLine}:9: policies.edge.allow: an empty allow list lets no one in",
            ConfigText.Error(Policy("allow = []\n")));
    }

    [Theory]
    [InlineData("status = 401", "401 must carry a challenge that an ip_filter cannot give: use 403 or 404")]
    [InlineData("status = 405", "405 must carry a list of allowed methods that an ip_filter cannot give: use 403 or 404")]
    [InlineData("status = 500", "must be between 400 and 499, got 500")]
    [InlineData("status = 200", "must be between 400 and 499, got 200")]
    [InlineData("status = \"403\"", "expected an integer, got a string")]
    public void Status_is_a_4xx_a_filter_can_give(string line, string message)
    {
        Assert.Equal($"proxy.toml:{FirstKeyLine + 1}:10: policies.edge.status: {message}",
            ConfigText.Error(Policy("deny = [\"203.0.113.0/24\"]\n" + line + "\n")));
    }

    [Fact]
    public void A_bad_block_is_reported_at_its_own_position()
    {
        Assert.Equal($"proxy.toml:{FirstKeyLine}:23: policies.edge.allow[1]: \"10.0.0.1/8\" has host bits set: write \"10.0.0.0/8\" for the network, or \"10.0.0.1\" for the one address",
            ConfigText.Error(Policy("allow = [\"192.0.2.1\", \"10.0.0.1/8\"]\n")));
        Assert.Equal($"proxy.toml:{FirstKeyLine}:9: policies.edge.deny[0]: \"2001:db8::/129\": the prefix length must be between 0 and 128",
            ConfigText.Error(Policy("deny = [\"2001:db8::/129\"]\n")));
    }

    [Fact]
    public void An_unknown_key_is_suggested()
    {
        Assert.Contains($"proxy.toml:{FirstKeyLine}:1: policies.edge.alow: unknown key (did you mean \"allow\"?)",
            ConfigText.Errors(Policy("alow = [\"10.0.0.0/8\"]\n")));
    }

    [Theory]
    [InlineData("010.0.0.0/8")]    // inet_aton would read 8.0.0.0/8
    [InlineData("10/8")]           // 0.0.0.10
    [InlineData("10.1/16")]        // 10.0.0.1
    [InlineData("127.1")]          // 127.0.0.1
    [InlineData("0x0a.0.0.0/8")]
    [InlineData("192.168.010.0/24")]
    public void IPv4_is_four_decimal_parts_never_an_inet_aton_form(string block)
    {
        // IPAddress.TryParse takes these and reads another network than the one written: a silent hole in an access list.
        var error = ConfigText.Error(Policy($"allow = [\"{block}\"]\n"));
        Assert.Equal($"proxy.toml:{FirstKeyLine}:10: policies.edge.allow[0]: \"{block}\" is not an IP address or CIDR block (e.g. \"10.0.0.0/8\", \"2001:db8::/32\")", error);
        // [client_ip] trusted_proxies reads blocks the same way.
        Assert.Contains("is not an IP address or CIDR block", ConfigText.Error(ConfigText.Minimal + $"\n\n[client_ip]\ntrusted_proxies = [\"{block}\"]\n"));
    }

    [Fact]
    public void An_IPv4_mapped_block_is_the_IPv4_block()
    {
        var options = Load("allow = [\"::ffff:10.0.0.0/104\", \"::ffff:192.0.2.7\"]\n");
        Assert.Equal([new CidrBlock(IPAddress.Parse("10.0.0.0"), 8), new CidrBlock(IPAddress.Parse("192.0.2.7"), 32)], options.Allow);
    }
}
