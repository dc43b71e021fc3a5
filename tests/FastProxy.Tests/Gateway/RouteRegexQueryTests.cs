using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>[[routes]].match path_regex and query over curl (HTTP/1.1 and h2c): which route answers, first match wins.</summary>
public sealed class RouteRegexQueryTests
{
    private const string Config = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "v2-users"
        respond = { status = 200, body = "v2-users" }
        match = { path_prefix = "/api/", path_regex = "^/api/v[0-9]+/users/[0-9]+$", query = { version = "2" } }

        [[routes]]
        name = "users"
        respond = { status = 200, body = "users" }
        match = { path_regex = "^/api/v[0-9]+/users/[0-9]+$" }

        [[routes]]
        name = "spaced"
        respond = { status = 200, body = "spaced" }
        match = { query = { "a b" = "c d" } }

        [[routes]]
        name = "rest"
        respond = { status = 200, body = "rest" }
        """;

    [Theory]
    [InlineData(false, "/api/v3/users/42?version=2", "v2-users")]
    [InlineData(true, "/api/v3/users/42?x=1&version=2", "v2-users")]
    [InlineData(false, "/api/v3/users/42?version=%32", "v2-users")] // compared percent-decoded
    [InlineData(true, "/api/v3/users/42?version=20", "users")]
    [InlineData(false, "/api/v3/users/42", "users")]
    [InlineData(true, "/api/v3/users/x42", "rest")]
    [InlineData(false, "/api/v3/users/42/more?version=2", "rest")]
    [InlineData(true, "/x?a%20b=c%20d", "spaced")]
    [InlineData(false, "/x?a+b=c+d", "rest")] // '+' is a plus, not a space
    public async Task Each_request_reaches_the_first_route_whose_conditions_all_hold(bool h2, string target, string route)
    {
        await using var proxy = TestProxy.Start(Config);

        var answer = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}{target}");

        Assert.Equal(200, answer.Status);
        Assert.Equal(route, answer.Body);
    }
}
