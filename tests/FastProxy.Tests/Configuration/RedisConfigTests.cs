using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

/// <summary>[redis]: the address forms, the password from the environment (never echoed), the limits, and the reference from rate_limit.</summary>
public sealed class RedisConfigTests
{
    [Fact]
    public void Defaults_and_plain_address()
    {
        var config = ConfigText.Load(ConfigText.Minimal + "\n[redis]\n");
        var redis = config.Redis!;
        Assert.Equal("127.0.0.1", redis.Host);
        Assert.Equal(6379, redis.Port);
        Assert.False(redis.Tls);
        Assert.Null(redis.Password);
        Assert.Equal(TimeSpan.FromMilliseconds(20), redis.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(1), redis.ConnectTimeout);
        Assert.Equal(0, redis.Database);
        Assert.Equal(10_000, redis.MaxInFlight);
        Assert.Null(ConfigText.Load(ConfigText.Minimal).Redis);
    }

    [Fact]
    public void Tls_address_env_password_and_the_other_keys()
    {
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_REDIS_PASSWORD", "s3cret-value");
        var config = ConfigText.Load(ConfigText.Minimal + """

            [redis]
            address = "redis+tls://localhost:6380"
            user = "proxy"
            password = "env:FASTPROXY_TEST_REDIS_PASSWORD"
            database = 3
            timeout = "50ms"
            connect_timeout = "2s"
            max_in_flight = 500
            """);
        var redis = config.Redis!;
        Assert.True(redis.Tls);
        Assert.Equal("localhost", redis.Host);
        Assert.Equal(6380, redis.Port);
        Assert.Equal("proxy", redis.User);
        Assert.Equal("s3cret-value", redis.Password);
        Assert.Equal(3, redis.Database);
        Assert.Equal(TimeSpan.FromMilliseconds(50), redis.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(2), redis.ConnectTimeout);
        Assert.Equal(500, redis.MaxInFlight);
        Assert.DoesNotContain("s3cret", redis.ToString());
        Assert.Contains("env:FASTPROXY_TEST_REDIS_PASSWORD", redis.ToString());
    }

    [Fact]
    public void A_literal_password_is_accepted_and_never_shown()
    {
        var redis = ConfigText.Load(ConfigText.Minimal + "\n[redis]\naddress = \"redis://127.0.0.1:6379\"\npassword = \"hunter2-literal\"\n").Redis!;
        Assert.Equal("hunter2-literal", redis.Password);
        Assert.DoesNotContain("hunter2", redis.ToString());
    }

    [Theory]
    [InlineData("address = \"127.0.0.1\"", "proxy.toml:9:11: redis.address: invalid address \"127.0.0.1\": missing port")]
    [InlineData("address = \"rediss://127.0.0.1:6379\"", "proxy.toml:9:11: redis.address: unknown scheme")]
    [InlineData("address = \"redis://:pw@127.0.0.1:6379/0\"", "proxy.toml:9:11: redis.address: write only host:port here")]
    [InlineData("address = \"nowhere.invalid:6379\"", "proxy.toml:9:11: redis.address: cannot resolve host \"nowhere.invalid\"")]
    [InlineData("password = \"env:FASTPROXY_TEST_UNSET_VARIABLE\"", "proxy.toml:9:12: redis.password: environment variable \"FASTPROXY_TEST_UNSET_VARIABLE\" is not set or empty")]
    [InlineData("timeout = \"0ms\"", "proxy.toml:9:11: redis.timeout: must be greater than 0")]
    [InlineData("timeout = \"11s\"", "proxy.toml:9:11: redis.timeout: must be at most 10s")]
    [InlineData("max_in_flight = 0", "proxy.toml:9:17: redis.max_in_flight: must be between 1 and 1000000, got 0")]
    [InlineData("database = -1", "proxy.toml:9:12: redis.database: must be between 0 and 1000000, got -1")]
    [InlineData("adress = \"127.0.0.1:6379\"", "proxy.toml:9:1: redis.adress: unknown key (did you mean \"address\"?)")]
    public void Errors_name_file_line_column_and_key(string line, string expected)
    {
        var error = ConfigText.Error(ConfigText.Minimal + "\n\n[redis]\n" + line + "\n");
        Assert.StartsWith(expected, error);
    }

    [Fact]
    public void A_bad_password_value_is_never_echoed()
    {
        var errors = ConfigText.Errors(ConfigText.Minimal + "\n[redis]\nuser = \"\"\npassword = \"\"\n");
        Assert.Equal(2, errors.Length);
        Assert.All(errors, e => Assert.Contains("must not be empty", e));
    }

    [Fact]
    public void A_redis_store_without_a_redis_section_is_refused_at_its_store_key()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """

            [policies.limit]
            type = "rate_limit"
            rate = "100/m"
            store = "redis"
            """);
        Assert.StartsWith("proxy.toml:10:9: policies.limit.store: store = \"redis\" needs a [redis] section", error);
    }
}
