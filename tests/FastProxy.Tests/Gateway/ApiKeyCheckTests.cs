using FastProxy.Tests.Configuration;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>What `fastproxy check` says about api_key policies: file:line:col, key path, and what to do.</summary>
public sealed class ApiKeyCheckTests
{
    private static readonly string Alice = $$"""
        [consumers.alice]
        api_keys = ["sha256:{{AliceDigest}}"]
        """;

    [Fact]
    public void A_policy_no_consumer_could_pass_is_an_error()
    {
        var error = ConfigText.Error($$"""
            {{ConfigText.Minimal}}
            [consumers.alice]
            groups = ["gold"]

            [policies.keys]
            type = "api_key"
            """);

        Assert.StartsWith("proxy.toml:10:1: policies.keys: no [consumers.NAME] has api_keys", error);
    }

    [Theory]
    [InlineData("header = \"x api key\"", "policies.keys.header: \"x api key\" is not a valid header name")]
    [InlineData("header = \"Host\"", "policies.keys.header: \"Host\" is a field the proxy handles itself")]
    [InlineData("header = \"x-consumer-key\"", "policies.keys.header: x-consumer* fields are removed")]
    [InlineData("query = \"api key\"", "policies.keys.query: \"api key\" is not a plain parameter name")]
    [InlineData("header = \"\"", "policies.keys: header = \"\" and no query")]
    [InlineData("realm = \"a \\\"b\\\"\"", "policies.keys.realm: may hold printable ASCII only")]
    [InlineData("hide = \"yes\"", "policies.keys.hide: expected a boolean")]
    [InlineData("key = \"x\"", "policies.keys.key: unknown key")]
    public void Bad_keys_are_named(string line, string expected)
    {
        var error = ConfigText.Error($$"""
            {{ConfigText.Minimal}}
            {{Alice}}
            [policies.keys]
            type = "api_key"
            {{line}}
            """);

        Assert.Contains(expected, error);
    }

    [Fact]
    public void Defaults_load()
    {
        var config = ConfigText.Load($$"""
            {{ConfigText.Minimal}}
            {{Alice}}
            [policies.keys]
            type = "api_key"
            """);

        var options = Assert.IsType<FastProxy.Configuration.ApiKeyOptions>(config.Policies[0].Options);
        Assert.Equal("x-api-key", options.Header);
        Assert.Null(options.Query);
        Assert.True(options.Hide);
        Assert.Equal("api", options.Realm);
    }
}
