using System.Globalization;
using System.Text.Json;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The version policy end to end: curl (HTTP/1.1 and h2c with prior knowledge) through a real proxy to two real
/// origins, one per version. Which origin answered and which path it saw show the upstream picked and the path edit;
/// refusals reach neither origin.
/// </summary>
public sealed class VersionLoopbackTests
{
    private static string Config(int a, int b, string policy, string route = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "api"
        policies = ["ver"]
        {{route}}

        [upstreams.origin-a]
        servers = ["127.0.0.1:{{a}}"]

        [upstreams.origin-b]
        servers = ["127.0.0.1:{{b}}"]

        [policies.ver]
        type = "version"
        {{policy}}
        """;

    private sealed class Origins : IAsyncDisposable
    {
        public readonly RawUpstream A = new(_ => RawUpstream.Ok("from-a"));
        public readonly RawUpstream B = new(_ => RawUpstream.Ok("from-b"));

        public string Target(RawUpstream origin) => Assert.Single(origin.Requests).RequestLine.Split(' ')[1];

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task From_path_picks_the_origin_and_strips_the_segment(bool h2)
    {
        await using var origins = new Origins();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            versions = { v1 = "origin-a", v2 = "origin-b" }
            """));

        var two = await CurlAnswer.GetAsync(h2, proxy.Url("/v2/users/7?x=1").ToString());
        Assert.Equal(200, two.Status);
        Assert.Equal("from-b", two.Body);
        Assert.Equal("/users/7?x=1", origins.Target(origins.B));
        Assert.Null(two.Header("Vary")); // the path is part of the URL already

        var one = await CurlAnswer.GetAsync(h2, proxy.Url("/V1").ToString()); // versions compare case-insensitively
        Assert.Equal("from-a", one.Body);
        Assert.Equal("/", origins.Target(origins.A));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task From_path_without_a_version_takes_the_default_and_an_unknown_one_is_refused(bool h2)
    {
        await using var origins = new Origins();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            versions = { v1 = "origin-a", v2 = { upstream = "origin-b", path_prefix = "/api" } }
            default = "v2"
            """));

        var plain = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString());
        Assert.Equal("from-b", plain.Body);
        Assert.Equal("/api/users", origins.Target(origins.B)); // the default's path_prefix, the path as it was

        var unknown = await CurlAnswer.GetAsync(h2, proxy.Url("/v9/users").ToString());
        Assert.Equal(400, unknown.Status);
        Assert.Equal("application/problem+json", unknown.Header("Content-Type"));
        using var problem = JsonDocument.Parse(unknown.Body);
        Assert.Equal(400, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("v9", problem.RootElement.GetProperty("version").GetString());
        Assert.Contains("\"v9\"", problem.RootElement.GetProperty("detail").GetString());
        Assert.Empty(origins.A.Requests);
        Assert.Single(origins.B.Requests);
    }

    [Fact]
    public async Task Without_a_default_a_request_naming_no_version_is_refused()
    {
        await using var origins = new Origins();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            from = "header:api-version"
            versions = { v1 = "origin-a", v2 = "origin-b" }
            """));

        var none = await CurlAnswer.GetAsync(false, proxy.Url("/users").ToString());
        Assert.Equal(400, none.Status);
        Assert.Equal("application/problem+json", none.Header("Content-Type"));
        Assert.Contains("names no API version", none.Body);
        Assert.Equal("api-version", none.Header("Vary"));
        Assert.Empty(origins.A.Requests);
        Assert.Empty(origins.B.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task From_a_header(bool h2)
    {
        await using var origins = new Origins();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            from = "header:api-version"
            versions = { "1" = "origin-a", "2" = "origin-b" }
            default = "1"
            """));

        var two = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString(), "Api-Version: 2");
        Assert.Equal("from-b", two.Body);
        Assert.Equal("/users", origins.Target(origins.B)); // the path is untouched
        Assert.Equal("api-version", two.Header("Vary"));

        var none = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString());
        Assert.Equal("from-a", none.Body);

        var unknown = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString(), "Api-Version: 3");
        Assert.Equal(400, unknown.Status);
        Assert.Single(origins.A.Requests);
        Assert.Single(origins.B.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task From_accept(bool h2)
    {
        await using var origins = new Origins();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            from = "accept"
            versions = { v1 = "origin-a", v2 = "origin-b" }
            default = "v1"
            """));

        var two = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString(), "Accept: text/html;q=0.5, application/vnd.acme.v2+json; charset=utf-8");
        Assert.Equal("from-b", two.Body);
        Assert.Equal("Accept", two.Header("Vary"));

        var json = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString(), "Accept: application/json");
        Assert.Equal("from-a", json.Body);

        var unknown = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString(), "Accept: application/vnd.acme.v7+json");
        Assert.Equal(400, unknown.Status);
        Assert.Contains("\"v7\"", unknown.Body);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task From_a_query_parameter(bool h2)
    {
        await using var origins = new Origins();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            from = "query:version"
            versions = { v1 = "origin-a", v2 = "origin-b" }
            """));

        var two = await CurlAnswer.GetAsync(h2, proxy.Url("/users?page=2&version=v2").ToString());
        Assert.Equal("from-b", two.Body);
        Assert.Equal("/users?page=2&version=v2", origins.Target(origins.B));
        Assert.Null(two.Header("Vary"));

        var none = await CurlAnswer.GetAsync(h2, proxy.Url("/users").ToString());
        Assert.Equal(400, none.Status);
        Assert.Empty(origins.A.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_deprecated_version_answers_with_Deprecation_and_Sunset(bool h2)
    {
        await using var origins = new Origins();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            versions = { v1 = "origin-a", v2 = "origin-b", v3 = "origin-b" }
            deprecated = { v1 = "2027-06-30", v2 = { deprecation = "2026-11-01T12:00:00Z", sunset = "2027-12-31", link = "https://example.com/v2-sunset" } }
            """));

        var one = await CurlAnswer.GetAsync(h2, proxy.Url("/v1/x").ToString());
        Assert.Equal("from-a", one.Body);
        var day = new DateTimeOffset(2027, 6, 30, 0, 0, 0, TimeSpan.Zero);
        // RFC 9745: a structured-field date, "@" and seconds since the epoch; RFC 8594: an HTTP-date.
        Assert.Equal("@" + day.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), one.Header("Deprecation"));
        Assert.Equal("@1814313600", one.Header("Deprecation"));
        Assert.Equal("Wed, 30 Jun 2027 00:00:00 GMT", one.Header("Sunset"));

        var two = await CurlAnswer.GetAsync(h2, proxy.Url("/v2/x").ToString());
        Assert.Equal("@" + new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), two.Header("Deprecation"));
        Assert.Equal("Fri, 31 Dec 2027 00:00:00 GMT", two.Header("Sunset"));
        Assert.Equal("<https://example.com/v2-sunset>; rel=\"deprecation\"; type=\"text/html\"", two.Header("Link"));

        var three = await CurlAnswer.GetAsync(h2, proxy.Url("/v3/x").ToString());
        Assert.Null(three.Header("Deprecation"));
        Assert.Null(three.Header("Sunset"));
    }

    [Fact]
    public async Task Strip_false_keeps_the_segment_and_the_picked_upstream_s_own_failures_apply()
    {
        await using var origins = new Origins();
        var closed = FastProxy.Tests.Forwarding.Support.UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(Config(origins.A.Port, origins.B.Port, """
            versions = { v1 = "origin-a", v2 = "origin-b", v3 = "down" }
            strip = false
            """) + $"\n[upstreams.down]\nservers = [\"127.0.0.1:{closed}\"]\n");

        var two = await CurlAnswer.GetAsync(false, proxy.Url("/v2/users").ToString());
        Assert.Equal("from-b", two.Body);
        Assert.Equal("/v2/users", origins.Target(origins.B));

        // v3's upstream has no server listening: its own connect failure (502), not the route's or another version's.
        var three = await CurlAnswer.GetAsync(false, proxy.Url("/v3/users").ToString());
        Assert.Equal(502, three.Status);
        Assert.Empty(origins.A.Requests);
    }
}
