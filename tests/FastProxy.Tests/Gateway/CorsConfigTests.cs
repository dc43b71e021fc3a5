using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "cors" in `fastproxy check`: what loads, and each mistake at its file:line:col.</summary>
public sealed class CorsConfigTests
{
    private static string Policy(string body) => ConfigText.Minimal + "\npolicies = [\"cors\"]\n\n[policies.cors]\ntype = \"cors\"\n" + body;

    private const int FirstKeyLine = 11;

    private static CorsOptions Load(string body) =>
        Assert.IsType<CorsOptions>(Assert.Single(ConfigText.Load(Policy(body)).Policies).Options);

    [Fact]
    public void Every_key_loads()
    {
        var options = Load("""
            origins = ["https://App.Example.com", "https://*.example.com:8443", "*.example.org", "http://localhost:3000", "https://x.test:443", "http://[::1]:8080"]
            methods = ["GET", "POST", "PURGE"]
            headers = ["Authorization", "Content-Type"]
            expose_headers = ["X-Request-Id"]
            credentials = true
            max_age = "10m"
            private_network = true
            """);
        Assert.False(options.AnyOrigin);
        Assert.Equal(["https://app.example.com", "https://*.example.com:8443", "*.example.org", "http://localhost:3000", "https://x.test", "http://[::1]:8080"],
            options.Origins.Select(o => o.ToString()));
        Assert.Equal(["GET", "POST", "PURGE"], options.Methods);
        Assert.Equal(["Authorization", "Content-Type"], options.Headers);
        Assert.Equal(["X-Request-Id"], options.ExposeHeaders);
        Assert.True(options.Credentials);
        Assert.Equal(TimeSpan.FromMinutes(10), options.MaxAge);
        Assert.True(options.PrivateNetwork);
    }

    [Fact]
    public void Defaults()
    {
        var options = Load("origins = [\"*\"]\n");
        Assert.True(options.AnyOrigin);
        Assert.Equal(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], options.Methods);
        Assert.Empty(options.Headers);
        Assert.Empty(options.ExposeHeaders);
        Assert.False(options.Credentials);
        Assert.Null(options.MaxAge);
        Assert.False(options.PrivateNetwork);
    }

    [Fact]
    public void Max_age_may_be_seconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(600), Load("origins = [\"*\"]\nmax_age = 600\n").MaxAge);
        Assert.Equal(TimeSpan.Zero, Load("origins = [\"*\"]\nmax_age = 0\n").MaxAge);
    }

    [Fact]
    public void Wildcard_origin_with_credentials_is_refused_at_the_wildcard()
    {
        var error = ConfigText.Error(Policy("origins = [\"*\"]\ncredentials = true\n"));
        Assert.StartsWith($"proxy.toml:{FirstKeyLine}:12: policies.cors.origins[0]: \"*\" cannot be used with credentials = true", error);
    }

    [Theory]
    [InlineData("origins = []", 11, "policies.cors.origins: an empty list allows no origin")]
    [InlineData("origins = [\"*\", \"https://a.example.com\"]", 11, "policies.cors.origins: \"*\" already allows every origin")]
    [InlineData("origins = [\"https://a.example.com/\"]", 12, "policies.cors.origins[0]: \"https://a.example.com/\": an origin has no path, query or fragment; write \"https://a.example.com\"")]
    [InlineData("origins = [\"https://a.example.com/app\"]", 12, "policies.cors.origins[0]: \"https://a.example.com/app\": an origin has no path")]
    [InlineData("origins = [\"null\"]", 12, "policies.cors.origins[0]: origin \"null\" can be produced by any page")]
    [InlineData("origins = [\"https://a.*.com\"]", 12, "policies.cors.origins[0]: \"https://a.*.com\": a wildcard is written \"*.example.com\"")]
    [InlineData("origins = [\"https://*example.com\"]", 12, "policies.cors.origins[0]: \"https://*example.com\": a wildcard is written")]
    [InlineData("origins = [\"https://a.example.com:0\"]", 12, "policies.cors.origins[0]: \"https://a.example.com:0\": the port must be a number between 1 and 65535")]
    [InlineData("origins = [\"https://a.example.com:http\"]", 12, "policies.cors.origins[0]: \"https://a.example.com:http\": the port must be")]
    [InlineData("origins = [\"https://user@a.example.com\"]", 12, "policies.cors.origins[0]: \"https://user@a.example.com\": an origin has no user name or password")]
    [InlineData("origins = [\"ht tp://a.example.com\"]", 12, "policies.cors.origins[0]: \"ht tp://a.example.com\": \"ht tp\" is not a URL scheme")]
    [InlineData("origins = [\"https://a..example.com\"]", 12, "policies.cors.origins[0]: \"https://a..example.com\" is not an origin")]
    [InlineData("origins = [\"https://\"]", 12, "policies.cors.origins[0]: \"https://\" is not an origin")]
    [InlineData("origins = [\"https://[::1\"]", 12, "policies.cors.origins[0]: \"https://[::1\" is not an origin")]
    [InlineData("origins = [\"https://*.[::1]\"]", 12, "policies.cors.origins[0]: \"https://*.[::1]\" is not an origin")]
    [InlineData("origins = \"*\"", 11, "policies.cors.origins: expected an array of strings (write [\"*\"]), got a string")]
    public void Bad_origins_are_reported_where_written(string line, int column, string message)
    {
        var error = ConfigText.Error(Policy(line + "\n"));
        Assert.StartsWith($"proxy.toml:{FirstKeyLine}:{column}: {message}", error);
    }

    [Fact]
    public void Origins_are_required()
    {
        Assert.StartsWith("proxy.toml:9:1: policies.cors: missing required key \"origins\"", ConfigText.Error(Policy("credentials = true\n")));
    }

    [Theory]
    [InlineData("methods = [\"patch\"]", "policies.cors.methods[0]: methods are case-sensitive: write \"PATCH\"")]
    [InlineData("methods = [\"GET POST\"]", "policies.cors.methods[0]: \"GET POST\" is not a method")]
    [InlineData("methods = [\"*\", \"GET\"]", "policies.cors.methods: \"*\" already means any: list it alone")]
    [InlineData("headers = [\"X-Api-Key\", \"x y\"]", "policies.cors.headers[1]: \"x y\" is not a header name")]
    [InlineData("expose_headers = [\"X-Id:\"]", "policies.cors.expose_headers[0]: \"X-Id:\" is not a header name")]
    [InlineData("max_age = -1", "policies.cors.max_age: must be at least 0, got -1")]
    [InlineData("max_age = \"1500ms\"", "policies.cors.max_age: Access-Control-Max-Age counts whole seconds")]
    [InlineData("max_age = true", "policies.cors.max_age: expected a duration such as \"10m\" or a number of seconds, got a boolean")]
    [InlineData("credentials = \"yes\"", "policies.cors.credentials: expected a boolean (true or false), got a string")]
    public void Bad_lists_and_values_are_reported(string line, string message)
    {
        var error = ConfigText.Error(Policy("origins = [\"https://a.example.com\"]\n" + line + "\n"));
        Assert.Contains($"proxy.toml:{FirstKeyLine + 1}:", error);
        Assert.Contains(message, error);
    }

    [Fact]
    public void Expose_all_with_credentials_is_refused()
    {
        var error = ConfigText.Error(Policy("origins = [\"https://a.example.com\"]\ncredentials = true\nexpose_headers = [\"*\"]\n"));
        Assert.StartsWith($"proxy.toml:{FirstKeyLine + 2}:18: policies.cors.expose_headers: \"*\" exposes every header only to requests without credentials", error);
    }

    [Fact]
    public void Star_lists_and_scheme_less_wildcards_load()
    {
        var options = Load("origins = [\"*.example.com\"]\nmethods = [\"*\"]\nheaders = [\"*\"]\nexpose_headers = [\"*\"]\n");
        Assert.True(options.AnyMethod);
        Assert.True(options.AnyHeader);
        Assert.Equal(["*"], options.ExposeHeaders);
        var origin = Assert.Single(options.Origins);
        Assert.Equal(new CorsOrigin(null, "example.com", true, null), origin);
    }
}
