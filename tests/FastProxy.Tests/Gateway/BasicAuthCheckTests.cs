using FastProxy.Configuration;
using FastProxy.Tests.Configuration;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>What `fastproxy check` says about basic_auth: htpasswd lines it cannot use are named by file:line.</summary>
public sealed class BasicAuthCheckTests : IDisposable
{
    private readonly string _dir = TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Errors(string htpasswd, string policy = "")
    {
        File.WriteAllText(Path.Combine(_dir, "users"), htpasswd);
        return ConfigText.Errors($$"""
            {{ConfigText.Minimal}}
            [policies.login]
            type = "basic_auth"
            htpasswd = "users"
            {{policy}}
            """, _dir);
    }

    [Fact]
    public async Task Md5_and_crypt_lines_are_refused_at_their_file_and_line()
    {
        var good = await HtpasswdLineAsync("alice", "correct horse", bcrypt: true);
        var file = Path.Combine(_dir, "users");

        var errors = Errors($"# users\n{good}\nbob:$apr1$Vf0p7Q9P$c9vOfgTN2zJOJzEVfW8a1/\n\ncarol:rOZp5pbDMf6hA\n");

        Assert.Equal(2, errors.Length);
        Assert.StartsWith($"{file}:3:1: policies.login.htpasswd: unsupported password hash: use bcrypt", errors[0]);
        Assert.StartsWith($"{file}:5:1: policies.login.htpasswd: unsupported password hash", errors[1]);
        // Never the hash itself.
        Assert.DoesNotContain("Vf0p7Q9P", errors[0]);
    }

    [Theory]
    [InlineData("alice\n", "1:1: policies.login.htpasswd: expected user:hash")]
    [InlineData("al ice:{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=\n", "1:1: policies.login.htpasswd: a user name may only hold")]
    [InlineData("bob:{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=\nbob:{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=\n", "2:1: policies.login.htpasswd: user \"bob\" is already on line 1")]
    [InlineData("bob:{SHA}tooshort\n", "1:1: policies.login.htpasswd: {SHA} must be followed by the base64 of a 20-byte SHA-1 digest")]
    [InlineData("bob:$2y$10$tooshort\n", "1:1: policies.login.htpasswd: not a well-formed bcrypt hash")]
    public void Unusable_lines_are_named(string htpasswd, string expected)
    {
        var error = Assert.Single(Errors(htpasswd));

        Assert.Equal($"{Path.Combine(_dir, "users")}:{expected}", error[..Math.Min(error.Length, Path.Combine(_dir, "users").Length + 1 + expected.Length)]);
    }

    [Fact]
    public void A_file_without_users_is_an_error()
    {
        var error = Assert.Single(Errors("# nobody yet\n\n"));

        Assert.Contains("policies.login.htpasswd:", error);
        Assert.Contains("has no users", error);
    }

    [Fact]
    public void A_missing_file_is_an_error_at_the_key()
    {
        var error = ConfigText.Error($$"""
            {{ConfigText.Minimal}}
            [policies.login]
            type = "basic_auth"
            htpasswd = "nowhere.htpasswd"
            """, _dir);

        Assert.StartsWith("proxy.toml:9:12: policies.login.htpasswd: file not found: ", error);
    }

    [Fact]
    public void Without_htpasswd_and_without_consumer_passwords_there_are_no_users()
    {
        var error = ConfigText.Error($$"""
            {{ConfigText.Minimal}}
            [consumers.alice]
            groups = ["admin"]
            [policies.login]
            type = "basic_auth"
            """);

        Assert.StartsWith("proxy.toml:9:1: policies.login: no users", error);
    }

    [Fact]
    public void A_consumers_unsupported_hash_is_an_error_at_the_consumer()
    {
        var error = ConfigText.Error($$"""
            {{ConfigText.Minimal}}
            [consumers.alice]
            basic_password_hash = "$apr1$Vf0p7Q9P$c9vOfgTN2zJOJzEVfW8a1/"
            [policies.login]
            type = "basic_auth"
            """);

        Assert.Contains("consumers.alice.basic_password_hash: unsupported password hash", error);
    }

    [Theory]
    [InlineData("realm = \"\"", "policies.login.realm: must not be empty")]
    [InlineData("cache_ttl = \"soon\"", "policies.login.cache_ttl:")]
    [InlineData("forward_credentials = 1", "policies.login.forward_credentials: expected a boolean")]
    [InlineData("users = \"x\"", "policies.login.users: unknown key")]
    public void Bad_keys_are_named(string line, string expected)
    {
        var error = Assert.Single(Errors("bob:{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=\n", line));

        Assert.Contains(expected, error);
    }

    [Fact]
    public void Defaults_load()
    {
        File.WriteAllText(Path.Combine(_dir, "users"), "bob:{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=\r\n");
        var config = ConfigText.Load($$"""
            {{ConfigText.Minimal}}
            [policies.login]
            type = "basic_auth"
            htpasswd = "users"
            """, _dir);

        var options = Assert.IsType<BasicAuthOptions>(config.Policies[0].Options);
        Assert.Equal("restricted", options.Realm);
        Assert.Equal(Path.Combine(_dir, "users"), options.Htpasswd);
        Assert.False(options.ForwardCredentials);
        Assert.Equal(TimeSpan.FromMinutes(5), options.CacheTtl);
        Assert.Equal(new HtpasswdUser("bob", "{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=", 1), Assert.Single(options.Users));
    }
}
