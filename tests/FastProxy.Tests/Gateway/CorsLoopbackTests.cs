using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>cors in a running proxy, with curl over HTTP/1.1 and HTTP/2 (what a browser sends, written out), a counting origin, and reload.</summary>
public sealed class CorsLoopbackTests
{
    private const string App = "https://app.example.com";

    private static string Config(int upstream, string routePolicies, string origins = "[\"https://app.example.com\", \"https://*.example.org\"]") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "api"
        upstream = "app"
        policies = [{{routePolicies}}]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstream}}"]

        [policies.cors]
        type = "cors"
        origins = {{origins}}
        methods = ["GET", "PUT", "DELETE"]
        headers = ["Authorization", "Content-Type"]
        expose_headers = ["X-Request-Id"]
        credentials = true
        max_age = "10m"

        # Stands in for authentication (no auth kind on main yet): refuses every client, as a missing credential would.
        [policies.auth]
        type = "ip_filter"
        deny = ["0.0.0.0/0", "::/0"]
        status = 403
        """;

    private static string Url(TestProxy proxy, string path = "/api/items") => $"http://127.0.0.1:{proxy.Port()}{path}";

    private static readonly string[] PreflightHeaders =
        ["-X", "OPTIONS", "-H", "Origin: " + App, "-H", "Access-Control-Request-Method: PUT", "-H", "Access-Control-Request-Headers: authorization, content-type"];

    [Fact]
    public async Task A_preflight_is_answered_before_authentication_and_the_refusal_of_the_actual_request_is_readable()
    {
        await using var upstream = new RawUpstream();
        // Listed after the authentication stand-in on purpose: cors runs first whatever the order.
        await using var proxy = TestProxy.Start(Config(upstream.Port, "\"auth\", \"cors\""));
        foreach (bool h2 in new[] { false, true })
        {
            var preflight = await CurlAsync(h2, Url(proxy), null, PreflightHeaders);
            Assert.Equal(204, preflight.Status);
            Assert.Equal([App], preflight.Values("Access-Control-Allow-Origin"));
            Assert.Equal(["true"], preflight.Values("Access-Control-Allow-Credentials"));
            Assert.Equal(["GET, PUT, DELETE"], preflight.Values("Access-Control-Allow-Methods"));
            Assert.Equal(["Authorization, Content-Type"], preflight.Values("Access-Control-Allow-Headers"));
            Assert.Equal(["600"], preflight.Values("Access-Control-Max-Age"));
            Assert.Equal(["Origin, Access-Control-Request-Method, Access-Control-Request-Headers"], preflight.Values("Vary"));
            Assert.DoesNotContain(preflight.Values("Content-Length"), v => v != "0");
            Assert.Equal("", preflight.Body);

            // The actual request is refused by "authentication", with the CORS headers on the refusal: the page can read it.
            var refused = await CurlAsync(h2, Url(proxy), null, "-X", "PUT", "-H", "Origin: " + App, "-d", "{}");
            Assert.Equal(403, refused.Status);
            Assert.Equal([App], refused.Values("Access-Control-Allow-Origin"));
            Assert.Equal(["true"], refused.Values("Access-Control-Allow-Credentials"));
            Assert.Equal(["X-Request-Id"], refused.Values("Access-Control-Expose-Headers"));
            Assert.Equal(["Origin"], refused.Values("Vary"));
        }
        Assert.Equal(0, upstream.Connections);
    }

    [Fact]
    public async Task Actual_requests_get_the_headers_for_an_allowed_origin_and_only_Vary_otherwise()
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("data", "X-Request-Id: 42\r\nVary: Accept-Encoding\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, "\"cors\""));
        foreach (bool h2 in new[] { false, true })
        {
            var allowed = await CurlAsync(h2, Url(proxy), null, "-H", "Origin: https://a.b.example.org");
            Assert.Equal((200, "data"), (allowed.Status, allowed.Body));
            Assert.Equal(["https://a.b.example.org"], allowed.Values("Access-Control-Allow-Origin"));
            Assert.Equal(["true"], allowed.Values("Access-Control-Allow-Credentials"));
            Assert.Equal(["X-Request-Id"], allowed.Values("Access-Control-Expose-Headers"));
            Assert.Equal(["42"], allowed.Values("X-Request-Id"));
            // The upstream's own Vary stays; the proxy's is another line of the same list.
            Assert.Equal(["Accept-Encoding", "Origin"], allowed.Values("Vary"));

            foreach (var other in new[] { "https://example.org", "https://evil-example.org", "http://app.example.com" })
            {
                var response = await CurlAsync(h2, Url(proxy), null, "-H", "Origin: " + other);
                Assert.Equal(200, response.Status);
                Assert.False(response.HasCors, other);
                Assert.Equal(["Accept-Encoding", "Origin"], response.Values("Vary"));
            }
            var noOrigin = await CurlAsync(h2, Url(proxy), null);
            Assert.False(noOrigin.HasCors);
            Assert.Equal(["Accept-Encoding", "Origin"], noOrigin.Values("Vary"));
        }
        Assert.Equal(10, upstream.Requests.Count);
        // The upstream sees the request as sent (CORS headers go to the client only).
        Assert.Equal("https://a.b.example.org", upstream.Requests[0].Header("Origin"));
    }

    [Fact]
    public async Task A_preflight_from_another_origin_is_refused_and_reaches_nothing()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "\"cors\""));
        foreach (bool h2 in new[] { false, true })
        {
            var refused = await CurlAsync(h2, Url(proxy), null, "-X", "OPTIONS", "-H", "Origin: https://evil.example.com", "-H", "Access-Control-Request-Method: PUT");
            Assert.Equal(403, refused.Status);
            Assert.False(refused.HasCors);
            Assert.Equal("403 Forbidden (CORS: origin not allowed)\n", refused.Body);
        }
        Assert.Equal(0, upstream.Connections);
    }

    [Fact]
    public async Task Reload_changes_the_allowed_origins()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "\"cors\""));
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal(204, (await CurlAsync(h2, Url(proxy), null, PreflightHeaders)).Status);
        }

        proxy.Reload(Config(upstream.Port, "\"cors\"", origins: "[\"https://other.example.com\"]"));
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal(403, (await CurlAsync(h2, Url(proxy), null, PreflightHeaders)).Status);
            var other = await CurlAsync(h2, Url(proxy), null, "-X", "OPTIONS", "-H", "Origin: https://other.example.com", "-H", "Access-Control-Request-Method: GET");
            Assert.Equal(204, other.Status);
            Assert.Equal(["https://other.example.com"], other.Values("Access-Control-Allow-Origin"));
        }

        // Reload to no policy at all: the OPTIONS request is the upstream's to answer.
        proxy.Reload(Config(upstream.Port, ""));
        Assert.Equal(200, (await CurlAsync(false, Url(proxy), null, PreflightHeaders)).Status);
        Assert.Single(upstream.Requests);
    }
}
