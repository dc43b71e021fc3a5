using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastProxy.Configuration.Export;
using FastProxy.Tests.Infrastructure;
using Tomlyn.Model;

namespace FastProxy.Tests.Hosting;

/// <summary>GET /config: the effective configuration (defaults filled in, reloads included) as JSON, with no secret in it.</summary>
public sealed class AdminConfigTests
{
    private const string ApiKey = "alice-api-key-VALUE-7f3a9c";
    private const string JwtSecret = "jwt-hmac-secret-VALUE-0123456789abcdef";
    private const string AdminToken = "admin-token-VALUE-0123456789";
    private const string BasicHash = "{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=";
    private const string UpstreamAuthorization = "Bearer upstream-credential-VALUE";

    private static readonly string BobDigest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("bob-key")));

    private static string Config(int port, string extraUpstream = "") => TestProxy.SimpleConfig([port], extraUpstream: extraUpstream, extraTop: $$"""
        [admin]
        bind = "127.0.0.1:0"
        token = "{{AdminToken}}"

        [consumers.alice]
        api_keys = ["env:FASTPROXY_TEST_ALICE_KEY"]
        groups = ["gold"]
        [consumers.bob]
        api_keys = ["sha256:{{BobDigest}}"]
        basic_password_hash = "{{BasicHash}}"

        [policies.keys]
        type = "api_key"

        [policies.tokens]
        type = "jwt"
        algorithms = ["HS256"]
        secret = "env:FASTPROXY_TEST_JWT_SECRET"

        [policies.stamp]
        type = "headers"
        request = { set = { authorization = "{{UpstreamAuthorization}}", "x-env" = "prod" } }

        [policies.auth]
        type = "forward_auth"
        url = "http://127.0.0.1:9/auth"
        """);

    private static readonly string[] Secrets = [ApiKey, JwtSecret, AdminToken, BasicHash, BobDigest, UpstreamAuthorization, "upstream-credential"];

    [Fact]
    public async Task Config_shows_defaults_and_names_env_references_but_no_secret()
    {
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_ALICE_KEY", ApiKey);
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_JWT_SECRET", JwtSecret);
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (status, body) = await AdminDrainTests.CurlAsync($"http://{proxy.Host.AdminEndPoint}/config");
        Assert.Equal(200, status);
        foreach (var secret in Secrets) Assert.DoesNotContain(secret, body, StringComparison.OrdinalIgnoreCase);

        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("test.toml", root.GetProperty("source").GetString());
        // Defaults as the running proxy uses them.
        Assert.Equal("30s", root.GetProperty("global").GetProperty("shutdown_timeout").GetString());
        Assert.Equal("10MiB", root.GetProperty("limits").GetProperty("max_body").GetString());
        var upstream = root.GetProperty("upstreams")[0];
        Assert.Equal("2s", upstream.GetProperty("connect_timeout").GetString());
        Assert.Equal($"127.0.0.1:{origin.Port}", upstream.GetProperty("servers")[0].GetProperty("address").GetString());
        // Secrets: references by name, the rest redacted.
        Assert.Equal(EffectiveConfigJson.Redacted, root.GetProperty("admin").GetProperty("token").GetString());
        var consumers = root.GetProperty("consumers");
        Assert.Equal("env:FASTPROXY_TEST_ALICE_KEY", consumers[0].GetProperty("api_keys")[0].GetString());
        Assert.Equal(EffectiveConfigJson.Redacted, consumers[1].GetProperty("api_keys")[0].GetString());
        Assert.Equal(EffectiveConfigJson.Redacted, consumers[1].GetProperty("basic_password_hash").GetString());
        var policies = root.GetProperty("policies");
        Assert.Equal("env:FASTPROXY_TEST_JWT_SECRET", policies[1].GetProperty("secret").GetString());
        var set = policies[2].GetProperty("request").GetProperty("set");
        Assert.Equal(EffectiveConfigJson.Redacted, set.GetProperty("authorization").GetString());
        Assert.Equal("prod", set.GetProperty("x-env").GetString());
        Assert.Equal("http://127.0.0.1:9/auth", policies[3].GetProperty("url").GetString());
        Assert.Equal("forward_auth", policies[3].GetProperty("type").GetString());
    }

    [Fact]
    public async Task Config_follows_reloads_and_an_env_token_shows_by_name()
    {
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_ALICE_KEY", ApiKey);
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_JWT_SECRET", JwtSecret);
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_CONFIG_TOKEN", AdminToken);
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        string url = $"http://{proxy.Host.AdminEndPoint}/config";
        proxy.Reload(Config(origin.Port, extraUpstream: "connect_timeout = \"1500ms\"")
            .Replace($"bind = \"127.0.0.1:0\"\ntoken = \"{AdminToken}\"", $"bind = \"127.0.0.1:{proxy.Host.AdminEndPoint!.Port}\"\ntoken = \"env:FASTPROXY_TEST_CONFIG_TOKEN\""));

        var (status, body) = await AdminDrainTests.CurlAsync(url);
        Assert.Equal(200, status);
        foreach (var secret in Secrets) Assert.DoesNotContain(secret, body, StringComparison.OrdinalIgnoreCase);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("1500ms", json.RootElement.GetProperty("upstreams")[0].GetProperty("connect_timeout").GetString());
        Assert.Equal("env:FASTPROXY_TEST_CONFIG_TOKEN", json.RootElement.GetProperty("admin").GetProperty("token").GetString());
    }

    [Fact]
    public void Sections_the_writer_does_not_know_are_redacted_by_key_name()
    {
        // As a [redis], [tracing] or new policy kind would come through: written from the parsed file, redacted by name.
        var redis = new TomlTable
        {
            ["address"] = "redis://:redis-url-pw@127.0.0.1:6379/0",
            ["password"] = "redis-password-VALUE",
            ["timeout"] = "20ms",
            ["nested"] = new TomlTable { ["client_secret"] = "nested-VALUE", ["secret_ref"] = "env:REDIS_SECRET", ["port"] = 6379L },
            ["tokens"] = new TomlArray { "array-VALUE-1", "env:TOKEN_TWO" },
        };
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer)) Redaction.WriteValue(json, "redis", redis);
        string text = Encoding.UTF8.GetString(buffer.WrittenSpan);

        Assert.DoesNotContain("VALUE", text);
        Assert.DoesNotContain("redis-url-pw", text);
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.Equal("redis://[redacted]@127.0.0.1:6379/0", root.GetProperty("address").GetString());
        Assert.Equal("[redacted]", root.GetProperty("password").GetString());
        Assert.Equal("20ms", root.GetProperty("timeout").GetString());
        Assert.Equal("env:REDIS_SECRET", root.GetProperty("nested").GetProperty("secret_ref").GetString());
        Assert.Equal(6379, root.GetProperty("nested").GetProperty("port").GetInt32());
        Assert.Equal("env:TOKEN_TWO", root.GetProperty("tokens")[1].GetString());
    }

    [Theory]
    [InlineData("http://example.com/a@b", "http://example.com/a@b")]
    [InlineData("https://u:p@h/x", "https://[redacted]@h/x")]
    [InlineData("no url here", "no url here")]
    [InlineData("redis+tls://:p@w@h:1", "redis+tls://[redacted]@h:1")]
    public void Url_credentials_are_scrubbed(string value, string expected) => Assert.Equal(expected, Redaction.Scrub(value));
}
