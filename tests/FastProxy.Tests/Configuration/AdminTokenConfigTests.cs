using System.Security.Cryptography;
using System.Text;

namespace FastProxy.Tests.Configuration;

/// <summary>[admin] token as `fastproxy check` sees it: "env:NAME" or the token, only its digest kept, never echoed.</summary>
public sealed class AdminTokenConfigTests
{
    private static string Admin(string bind, string token) => ConfigText.Minimal + $"""


        [admin]
        bind = "{bind}"
        {token}
        """;

    [Fact]
    public void A_token_is_kept_as_its_digest_and_an_env_token_remembers_its_name()
    {
        var inline = ConfigText.Load(Admin("127.0.0.1:9901", "token = \"0123456789abcdef0123\""));
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes("0123456789abcdef0123")), inline.Admin!.TokenHash);
        Assert.Null(inline.Admin.TokenSource);

        Environment.SetEnvironmentVariable("FASTPROXY_TEST_TOKEN_CONFIG", "from-the-environment-0123");
        var env = ConfigText.Load(Admin("127.0.0.1:9901", "token = \"env:FASTPROXY_TEST_TOKEN_CONFIG\""));
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes("from-the-environment-0123")), env.Admin!.TokenHash);
        Assert.Equal("env:FASTPROXY_TEST_TOKEN_CONFIG", env.Admin.TokenSource);

        Assert.Null(ConfigText.Load(Admin("127.0.0.1:9901", "")).Admin!.TokenHash);
    }

    [Fact]
    public void Bad_tokens_are_errors_that_do_not_echo_them()
    {
        var shortToken = ConfigText.Error(Admin("127.0.0.1:9901", "token = \"short-secret\""));
        Assert.Equal("proxy.toml:10:9: admin.token: the admin token must be at least 16 characters (e.g. openssl rand -hex 32)", shortToken);
        Assert.DoesNotContain("short-secret", shortToken);
        Assert.Equal("proxy.toml:10:9: admin.token: environment variable \"FASTPROXY_TEST_TOKEN_UNSET\" is not set or empty",
            ConfigText.Error(Admin("127.0.0.1:9901", "token = \"env:FASTPROXY_TEST_TOKEN_UNSET\"")));
        Assert.Contains("admin.token: the admin token must be printable ASCII without spaces",
            ConfigText.Error(Admin("127.0.0.1:9901", "token = \"0123456789 abcdef0123\"")));
        Assert.Contains("admin.token: expected a string", ConfigText.Error(Admin("127.0.0.1:9901", "token = 1234567890")));
    }

    [Fact]
    public void Check_warns_about_a_non_loopback_listener_without_a_token_and_less_with_one()
    {
        var open = ConfigText.Load(Admin("0.0.0.0:9901", ""));
        Assert.Contains(open.Warnings, w => w.ToString().Contains("admin.bind: 0.0.0.0:9901 is not a loopback address", StringComparison.Ordinal)
            && w.ToString().Contains("with no [admin] token its POST endpoints (drain, enable) refuse every request (403)", StringComparison.Ordinal));
        var guarded = ConfigText.Load(Admin("0.0.0.0:9901", "token = \"0123456789abcdef0123\""));
        var warning = Assert.Single(guarded.Warnings);
        Assert.EndsWith("admin.bind: 0.0.0.0:9901 is not a loopback address: the admin endpoints are reachable from the network", warning.ToString());
        Assert.Empty(ConfigText.Load(Admin("127.0.0.2:9901", "")).Warnings);
        Assert.Empty(ConfigText.Load(Admin("[::1]:9901", "")).Warnings);
    }
}
