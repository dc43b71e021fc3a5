using FastProxy.Tests.Configuration;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>What `fastproxy check` says about authorize: what it needs, the groups it names, where it stands in each chain.</summary>
public sealed class AuthorizeCheckTests
{
    private static readonly string Consumers = $$"""
        [consumers.alice]
        api_keys = ["sha256:{{AliceDigest}}"]
        groups = ["gold", "admin"]
        """;

    private static string[] Warnings(string text) => ConfigText.Parse(text).Warnings.Select(w => w.ToString()).ToArray();

    [Fact]
    public void Without_groups_or_claims_it_is_an_error()
    {
        var error = ConfigText.Error($$"""
            {{ConfigText.Minimal}}
            [policies.rule]
            type = "authorize"
            """);

        Assert.StartsWith("proxy.toml:7:1: policies.rule: authorize needs groups", error);
    }

    [Theory]
    [InlineData("groups = []", "policies.rule.groups: is empty")]
    [InlineData("groups = [\"a b\"]", "policies.rule.groups[0]: group \"a b\" may only hold")]
    [InlineData("claims = {}", "policies.rule.claims: is empty")]
    [InlineData("claims = { scope = [\"a\"] }", "policies.rule.claims.scope: expected a string")]
    [InlineData("claims = \"scope\"", "policies.rule.claims: expected a table")]
    public void Bad_values_are_named(string line, string expected)
    {
        var errors = ConfigText.Errors($$"""
            {{ConfigText.Minimal}}
            {{Consumers}}
            [policies.rule]
            type = "authorize"
            {{line}}
            """);

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_group_no_consumer_has_is_a_warning_when_another_listed_group_is_held()
    {
        var parse = ConfigText.Parse($$"""
            {{ConfigText.Minimal}}
            {{Consumers}}
            [policies.rule]
            type = "authorize"
            groups = ["admin", "admins"]
            """);

        Assert.True(parse.Success);
        var warning = Assert.Single(parse.Warnings).ToString();
        Assert.Equal("proxy.toml:12:20: policies.rule.groups[1]: no [consumers.NAME] is in group \"admins\"", warning);
    }

    [Fact]
    public void Groups_nobody_has_are_an_error()
    {
        var error = ConfigText.Error($$"""
            {{ConfigText.Minimal}}
            {{Consumers}}
            [policies.rule]
            type = "authorize"
            groups = ["root"]
            """);

        Assert.Equal("proxy.toml:12:10: policies.rule.groups: no [consumers.NAME] is in any of these groups, so this policy would refuse every request (groups in use: admin, gold)", error);
    }

    [Fact]
    public void Authorize_before_any_authentication_on_a_route_is_a_warning()
    {
        var warnings = Warnings($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            policies = ["rule", "keys"]

            {{Consumers}}
            [policies.keys]
            type = "api_key"
            [policies.rule]
            type = "authorize"
            groups = ["gold"]
            """);

        var warning = Assert.Single(warnings);
        Assert.StartsWith("proxy.toml:7:13: routes[0].policies[0]: on route \"routes[0]\", authorize \"rule\" runs before any authentication", warning);
    }

    [Fact]
    public void Authentication_on_the_listener_counts_as_before_the_route()
    {
        var warnings = Warnings($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            policies = ["keys"]

            [[routes]]
            respond = { status = 200 }
            policies = ["rule"]

            {{Consumers}}
            [policies.keys]
            type = "api_key"
            [policies.rule]
            type = "authorize"
            groups = ["gold"]
            """);

        Assert.Empty(warnings);
    }

    [Fact]
    public void A_route_on_two_listeners_is_warned_for_the_one_without_authentication()
    {
        var warnings = Warnings($$"""
            [[listeners]]
            name = "inside"
            bind = "127.0.0.1:0"
            policies = ["keys"]

            [[listeners]]
            name = "outside"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "admin"
            respond = { status = 200 }
            policies = ["rule"]

            {{Consumers}}
            [policies.keys]
            type = "api_key"
            [policies.rule]
            type = "authorize"
            groups = ["gold"]
            """);

        var warning = Assert.Single(warnings);
        Assert.Contains("routes[0].policies[0]: on route \"admin\" on listener \"outside\", authorize \"rule\" runs before any authentication", warning);
    }

    [Fact]
    public void Authorize_first_on_a_listener_is_a_warning()
    {
        var warnings = Warnings($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            policies = ["rule", "keys"]

            [[routes]]
            respond = { status = 200 }

            {{Consumers}}
            [policies.keys]
            type = "api_key"
            [policies.rule]
            type = "authorize"
            groups = ["gold"]
            """);

        Assert.Contains("listeners[0].policies[0]: on listener \"web\", authorize \"rule\" runs before any authentication", Assert.Single(warnings));
    }
}
