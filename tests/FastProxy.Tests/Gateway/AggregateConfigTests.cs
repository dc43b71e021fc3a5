using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "aggregate" as `fastproxy check` sees it: defaults, every key, and file:line:col errors naming the key.</summary>
public sealed class AggregateConfigTests
{
    private static string Policy(string keys) => $"""
        {ConfigText.Minimal}

        [upstreams.users]
        servers = ["127.0.0.1:9001"]

        [policies.me]
        type = "aggregate"
        {keys}
        """;

    private const string OnePart = """parts = [{ name = "user", upstream = "users", path = "/users/{header.x-user}" }]""";

    private static AggregateOptions Options(string keys) =>
        Assert.IsType<AggregateOptions>(Assert.Single(ConfigText.Load(Policy(keys)).Policies).Options);

    [Fact]
    public void Defaults()
    {
        var options = Options(OnePart);

        Assert.Equal(TimeSpan.FromSeconds(2), options.Timeout);
        Assert.Equal(AggregatePartial.Omit, options.Partial);
        Assert.Equal(1024 * 1024, options.MaxPartBody);
        var part = Assert.Single(options.Parts);
        Assert.Equal("user", part.Name);
        Assert.Equal("users", part.Upstream);
        Assert.Equal("GET", part.Method);
        Assert.Empty(part.Headers);
        Assert.Null(part.Timeout);
        Assert.Equal([new PathTemplatePart(PathVariable.Literal, "/users/"), new PathTemplatePart(PathVariable.Header, "x-user")], part.Path.Parts);
    }

    [Fact]
    public void Every_key()
    {
        var options = Options("""
            timeout = "900ms"
            partial = "fail"
            max_part_body = "64KiB"
            parts = [
              { name = "user", upstream = "users", path = "/u/{claim.sub}/{consumer}?ip={client_ip}&id={request_id}&q={query.q}{{x}", method = "POST", headers = ["Authorization", "x-tenant"], timeout = "300ms" },
              { name = "all", upstream = "users", path = "{path}" },
            ]
            """.Replace("{path}\"", "/p{path}\"", StringComparison.Ordinal));

        Assert.Equal(TimeSpan.FromMilliseconds(900), options.Timeout);
        Assert.Equal(AggregatePartial.Fail, options.Partial);
        Assert.Equal(64 * 1024, options.MaxPartBody);
        Assert.Equal(["user", "all"], options.Parts.Select(p => p.Name));
        var user = options.Parts[0];
        Assert.Equal("POST", user.Method);
        Assert.Equal(["authorization", "x-tenant"], user.Headers);
        Assert.Equal(TimeSpan.FromMilliseconds(300), user.Timeout);
        Assert.Equal(
        [
            new PathTemplatePart(PathVariable.Literal, "/u/"), new PathTemplatePart(PathVariable.Claim, "sub"),
            new PathTemplatePart(PathVariable.Literal, "/"), new PathTemplatePart(PathVariable.Consumer, ""),
            new PathTemplatePart(PathVariable.Literal, "?ip="), new PathTemplatePart(PathVariable.ClientIp, ""),
            new PathTemplatePart(PathVariable.Literal, "&id="), new PathTemplatePart(PathVariable.RequestId, ""),
            new PathTemplatePart(PathVariable.Literal, "&q="), new PathTemplatePart(PathVariable.Query, "q"),
            new PathTemplatePart(PathVariable.Literal, "{x}"),
        ], user.Path.Parts);
        Assert.Equal([new PathTemplatePart(PathVariable.Literal, "/p"), new PathTemplatePart(PathVariable.Path, "")], options.Parts[1].Path.Parts);
    }

    [Theory]
    [InlineData("", "proxy.toml:11:1: policies.me: missing required key \"parts\"")]
    [InlineData("parts = []", "proxy.toml:13:9: policies.me.parts: needs at least one part, e.g. [{ name = \"user\", upstream = \"users\", path = \"/users/{header.x-user}\" }]")]
    [InlineData("parts = { name = \"a\" }", "proxy.toml:13:9: policies.me.parts: expected an array of tables ([[policies.me.parts]]), got a table")]
    [InlineData("parts = [{ name = \"a\", upstream = \"nope\", path = \"/a\" }]", "proxy.toml:13:35: policies.me.parts[0].upstream: no upstream named \"nope\" (known: users)")]
    [InlineData("parts = [{ name = \"a\", upstream = \"user\", path = \"/a\" }]", "proxy.toml:13:35: policies.me.parts[0].upstream: no upstream named \"user\" (did you mean \"users\"?) (known: users)")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a\" }, { name = \"a\", upstream = \"users\", path = \"/b\" }]",
        "proxy.toml:13:68: policies.me.parts[1].name: part \"a\" is named twice: each part is one member of the answer")]
    [InlineData("parts = [{ name = \"\", upstream = \"users\", path = \"/a\" }]", "proxy.toml:13:19: policies.me.parts[0].name: must not be empty")]
    [InlineData("parts = [{ upstream = \"users\", path = \"/a\" }]", "proxy.toml:13:10: policies.me.parts[0]: missing required key \"name\"")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"a\" }]", "proxy.toml:13:51: policies.me.parts[0].path: must start with '/', e.g. \"/a\"")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a b\" }]", "proxy.toml:13:51: policies.me.parts[0].path: must not contain spaces (percent-encode them as %20)")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a/{header.x-user\" }]", "proxy.toml:13:51: policies.me.parts[0].path: unclosed '{' at character 4 (a literal '{' is written '{{')")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a/{user}\" }]",
        "proxy.toml:13:51: policies.me.parts[0].path: unknown variable {user} (known: {client_ip}, {consumer}, {request_id}, {claim.NAME}, {header.NAME}); a path also knows {query.NAME} and {path}")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a/{query.}\" }]",
        "proxy.toml:13:51: policies.me.parts[0].path: {query.}: a query parameter name is visible ASCII without '&', '=' or '#', e.g. {query.page}")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a\", method = \"HEAD\" }]",
        "proxy.toml:13:66: policies.me.parts[0].method: unknown or unsupported method \"HEAD\" (known: GET, POST, PUT, PATCH, DELETE, OPTIONS)")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a\", headers = [\"Host\"] }]",
        "proxy.toml:13:68: policies.me.parts[0].headers[0]: host is written by the proxy for the part's own request, not copied from the client's")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a\", headers = [\"Accept-Encoding\"] }]",
        "proxy.toml:13:68: policies.me.parts[0].headers[0]: accept-encoding is not copied: a part's body must come unencoded to be merged")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a\", headers = [\"x-a\", \"X-A\"] }]",
        "proxy.toml:13:75: policies.me.parts[0].headers[1]: header \"X-A\" listed twice (names are case-insensitive)")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a\", timeout = \"0s\" }]", "proxy.toml:13:67: policies.me.parts[0].timeout: must be greater than 0")]
    [InlineData("parts = [{ name = \"a\", upstream = \"users\", path = \"/a\", body = \"x\" }]", "proxy.toml:13:57: policies.me.parts[0].body: unknown key (known: name, upstream, path, method, headers, timeout)")]
    [InlineData(OnePart + "\npartial = \"skip\"", "proxy.toml:14:11: policies.me.partial: unknown partial mode \"skip\" (known: omit, fail)")]
    [InlineData(OnePart + "\nmax_part_body = \"1GiB\"", "proxy.toml:14:17: policies.me.max_part_body: must be at most 64MiB")]
    [InlineData(OnePart + "\ntimeout = \"soon\"", "proxy.toml:14:11: policies.me.timeout: ")]
    public void Errors_name_the_place_and_the_key(string keys, string error)
    {
        var actual = ConfigText.Error(Policy(keys));
        Assert.True(actual.StartsWith(error, StringComparison.Ordinal), $"got: {actual}");
    }

    [Fact]
    public void At_most_32_parts()
    {
        var parts = string.Join(", ", Enumerable.Range(0, 33).Select(i => $$"""{ name = "p{{i}}", upstream = "users", path = "/{{i}}" }"""));
        Assert.Equal("proxy.toml:13:9: policies.me.parts: at most 32 parts, got 33", ConfigText.Error(Policy($"parts = [{parts}]")));
    }
}
