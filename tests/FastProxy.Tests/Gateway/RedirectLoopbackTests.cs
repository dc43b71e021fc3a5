using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The redirect policy end to end with curl over HTTP/1.1 and h2c: the status and Location asked for, an empty body,
/// and nothing reaching the counting origin.
/// </summary>
public sealed class RedirectLoopbackTests
{
    private static string Config(int upstreamPort, string policy, bool onListener = false) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        {{(onListener ? "policies = [\"go\"]" : "")}}

        [[routes]]
        name = "app"
        upstream = "app"
        {{(onListener ? "" : "policies = [\"go\"]")}}

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        [policies.go]
        type = "redirect"
        {{policy}}
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Http_to_https_in_one_line_keeps_host_path_and_query_and_drops_the_plain_port(bool h2)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, "scheme = \"https\"", onListener: true));

        var answer = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/a/b%2F?x=1&y=%41", "Host: shop.example:8080");

        Assert.Equal(308, answer.Status);
        Assert.Equal("https://shop.example/a/b%2F?x=1&y=%41", answer.Header("location"));
        Assert.Equal("0", answer.Header("content-length"));
        Assert.Equal("", answer.Body);
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData(false, 301)]
    [InlineData(true, 302)]
    [InlineData(false, 307)]
    [InlineData(true, 308)]
    public async Task Each_status_with_host_port_and_path_replaced(bool h2, int status)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, $"""
            host = "new.example"
            port = 8443
            scheme = "https"
            path = "/moved?from=old"
            status = {status}
            """));

        var answer = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/old/page?q=1");

        Assert.Equal(status, answer.Status);
        Assert.Equal("https://new.example:8443/moved?from=old", answer.Header("location"));
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Only_the_path_replaced_keeps_the_authority_with_its_port(bool h2)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, "path = \"/new\"\nstatus = 302"));

        var answer = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/old");

        Assert.Equal(302, answer.Status);
        Assert.Equal($"http://127.0.0.1:{proxy.Port()}/new", answer.Header("location"));
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a@evil.example")]
    [InlineData("a b")]
    [InlineData("a\\b")]
    public async Task A_host_that_is_no_authority_never_reaches_the_location(string host)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, "scheme = \"https\""));
        using var client = new Forwarding.Support.WireClient(proxy.Port());

        client.Send($"GET /x HTTP/1.1\r\nHost: {host}\r\n\r\n");
        var response = await client.ReadFinalResponseAsync("GET");

        // The parser refuses each of these Hosts before any policy runs (400); the policy's own check
        // (A_host_the_policy_would_not_put_in_a_location) stands behind it.
        Assert.Equal(400, response.Status);
        Assert.Null(response.Header("location"));
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData("a/b", false)]
    [InlineData("a@evil.example", false)]
    [InlineData("a b", false)]
    [InlineData("a\\b", false)]
    [InlineData("a?b", false)]
    [InlineData("a#b", false)]
    [InlineData("a\r\nb", false)]
    [InlineData("", false)]
    [InlineData("shop.example:8080", true)]
    [InlineData("[::1]:8443", true)]
    [InlineData("my_host-1.example", true)]
    public void A_host_the_policy_would_not_put_in_a_location(string host, bool allowed)
    {
        Assert.Equal(allowed, FastProxy.Policies.Types.Redirect.RedirectPolicy.IsAuthority(System.Text.Encoding.Latin1.GetBytes(host)));
    }
}
