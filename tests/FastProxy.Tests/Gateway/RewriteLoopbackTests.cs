using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The rewrite policy end to end: curl (HTTP/1.1 and h2c with prior knowledge) through a real proxy to a recording
/// origin, which must see exactly the rewritten request-line target.
/// </summary>
public sealed class RewriteLoopbackTests
{
    internal static string Config(int upstreamPort, string policy, string route = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["rw"]
        {{route}}

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        [policies.rw]
        type = "rewrite"
        {{policy}}
        """;

    private static string Target(UpstreamRequest request) => request.RequestLine.Split(' ')[1];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_origin_sees_the_path_rewritten_with_captures_and_the_query_edited(bool h2)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, """
            pattern = "^/api/v(?<version>[0-9]+)/users/([0-9]+)$"
            replacement = "/users/$1/${version}"
            query = { set = { "source" = "gw", "who" = "{header.x-who}" }, remove = ["debug"] }
            """));

        var answer = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/api/v2/users/42?debug=1&keep=a%20b&source=client", "X-Who: a b&c");

        Assert.Equal(200, answer.Status);
        Assert.Equal("/users/42/2?keep=a%20b&source=gw&who=a%20b%26c", Target(Assert.Single(upstream.Requests)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_literal_replacement_replaces_strip_prefix_and_keeps_the_query(bool h2)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, """
            pattern = "^/old/"
            replacement = "/new/"
            """, route: "match = { path_prefix = \"/old/\" }\nstrip_prefix = \"/old\""));

        var rewritten = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/old/x?q=1");

        Assert.Equal(200, rewritten.Status);
        Assert.Equal("/new/x?q=1", Target(Assert.Single(upstream.Requests)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_path_that_does_not_match_is_left_alone(bool h2)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, """
            pattern = "^/old/(.*)"
            replacement = "/new/$1"
            """));

        var answer = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/other/x?q=%41");

        Assert.Equal(200, answer.Status);
        Assert.Equal("/other/x?q=%41", Target(Assert.Single(upstream.Requests)));
    }
}
