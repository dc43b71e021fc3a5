using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Routing;

/// <summary>[[routes]] through a running proxy: match conditions, listeners, respond routes, strip_prefix, order, 404.</summary>
public sealed class RoutingTests
{
    private const string Web = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        """;

    /// <summary>A respond route answering its own name, so a response tells which route matched.</summary>
    private static string Named(string name, string match) => $$"""
        [[routes]]
        name = "{{name}}"
        respond = { status = 200, body = "{{name}}" }
        [routes.match]
        {{match}}

        """;

    private static async Task<WireResponse> GetAsync(TestProxy proxy, string request, string listener = "web")
    {
        using var client = new WireClient(proxy.Port(listener));
        return await client.RoundTripAsync(request);
    }

    private static async Task<string> MatchedAsync(TestProxy proxy, string method, string target, string host, string extra = "")
    {
        var response = await GetAsync(proxy, $"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n");
        return response.Status == 404 ? "404" : response.BodyText;
    }

    [Fact]
    public async Task Exact_host_matches_case_insensitively_and_without_port()
    {
        await using var proxy = TestProxy.Start(Web + Named("api", "host = \"api.example.com\""));

        Assert.Equal("api", await MatchedAsync(proxy, "GET", "/", "api.example.com"));
        Assert.Equal("api", await MatchedAsync(proxy, "GET", "/", "API.Example.COM"));
        Assert.Equal("api", await MatchedAsync(proxy, "GET", "/", "api.example.com:8080"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "www.example.com"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "api.example.com.evil.test"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "xapi.example.com"));
    }

    [Fact]
    public async Task Ip_literal_hosts_match_without_port()
    {
        await using var proxy = TestProxy.Start(Web
            + Named("v4", "host = \"127.0.0.1\"")
            + Named("v6", "host = \"[::1]\""));

        Assert.Equal("v4", await MatchedAsync(proxy, "GET", "/", $"127.0.0.1:{proxy.Port()}"));
        Assert.Equal("v6", await MatchedAsync(proxy, "GET", "/", "[::1]:8080"));
        Assert.Equal("v6", await MatchedAsync(proxy, "GET", "/", "[::1]"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "127.0.0.2"));
    }

    [Fact]
    public async Task Absolute_form_authority_is_the_host_that_is_matched()
    {
        await using var proxy = TestProxy.Start(Web + Named("api", "host = \"api.example.com\""));

        Assert.Equal("api", await MatchedAsync(proxy, "GET", "http://api.example.com/x", "other.test"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "http://other.test/x", "api.example.com"));
    }

    [Fact]
    public async Task Wildcard_host_matches_any_subdomain_but_not_the_bare_domain()
    {
        await using var proxy = TestProxy.Start(Web + Named("wild", "host = \"*.Example.com\""));

        Assert.Equal("wild", await MatchedAsync(proxy, "GET", "/", "a.example.com"));
        Assert.Equal("wild", await MatchedAsync(proxy, "GET", "/", "deep.sub.EXAMPLE.com:443"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "example.com"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "badexample.com"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "a.example.com.evil.test"));
    }

    [Fact]
    public async Task Exact_path_and_path_prefix()
    {
        await using var proxy = TestProxy.Start(Web
            + Named("exact", "path = \"/health\"")
            + Named("prefix", "path_prefix = \"/api/\""));

        Assert.Equal("exact", await MatchedAsync(proxy, "GET", "/health", "a"));
        Assert.Equal("exact", await MatchedAsync(proxy, "GET", "/health?verbose=1", "a"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/health/", "a"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/healthz", "a"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/Health", "a"));
        Assert.Equal("prefix", await MatchedAsync(proxy, "GET", "/api/", "a"));
        Assert.Equal("prefix", await MatchedAsync(proxy, "GET", "/api/users/7?x=/y", "a"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/api", "a"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/x?/api/", "a"));
        Assert.Equal("prefix", await MatchedAsync(proxy, "GET", "http://h/api/v", "a"));
    }

    [Fact]
    public async Task Methods_restrict_a_route()
    {
        await using var proxy = TestProxy.Start(Web
            + Named("writes", "methods = [\"post\", \"PUT\"]")
            + Named("rest", ""));

        Assert.Equal("writes", await MatchedAsync(proxy, "POST", "/", "a", "Content-Length: 0\r\n"));
        Assert.Equal("writes", await MatchedAsync(proxy, "PUT", "/", "a", "Content-Length: 0\r\n"));
        Assert.Equal("rest", await MatchedAsync(proxy, "GET", "/", "a"));
        Assert.Equal("rest", await MatchedAsync(proxy, "DELETE", "/", "a"));
    }

    [Fact]
    public async Task Header_conditions_must_all_hold()
    {
        await using var proxy = TestProxy.Start(Web
            + Named("v2", "headers = { \"X-Version\" = \"2\", \"x-tenant\" = \"acme\" }")
            + Named("other", ""));

        Assert.Equal("v2", await MatchedAsync(proxy, "GET", "/", "a", "x-version: 2\r\nX-Tenant: acme\r\n"));
        Assert.Equal("v2", await MatchedAsync(proxy, "GET", "/", "a", "X-Tenant: acme\r\nX-VERSION:  2 \r\n"));
        Assert.Equal("other", await MatchedAsync(proxy, "GET", "/", "a", "X-Version: 2\r\n"));
        Assert.Equal("other", await MatchedAsync(proxy, "GET", "/", "a", "X-Version: 3\r\nX-Tenant: acme\r\n"));
        Assert.Equal("other", await MatchedAsync(proxy, "GET", "/", "a"));
    }

    [Fact]
    public async Task All_conditions_of_a_route_must_hold_together()
    {
        await using var proxy = TestProxy.Start(Web + Named("all", """
            host = "*.shop.test"
            path_prefix = "/cart"
            methods = ["GET"]
            headers = { "x-beta" = "1" }
            """));

        Assert.Equal("all", await MatchedAsync(proxy, "GET", "/cart/1", "eu.shop.test", "X-Beta: 1\r\n"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/cart/1", "shop.test", "X-Beta: 1\r\n"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/cat/1", "eu.shop.test", "X-Beta: 1\r\n"));
        Assert.Equal("404", await MatchedAsync(proxy, "HEAD", "/cart/1", "eu.shop.test", "X-Beta: 1\r\n"));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/cart/1", "eu.shop.test"));
    }

    [Fact]
    public async Task First_matching_route_wins_and_nothing_matching_is_404()
    {
        await using var proxy = TestProxy.Start(Web
            + Named("specific", "path_prefix = \"/api/admin\"")
            + Named("general", "path_prefix = \"/api\"")
            + Named("shadowed", "path_prefix = \"/api/admin/users\""));

        Assert.Equal("specific", await MatchedAsync(proxy, "GET", "/api/admin/users", "a"));
        Assert.Equal("general", await MatchedAsync(proxy, "GET", "/api/other", "a"));

        var miss = await GetAsync(proxy, "GET /elsewhere HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(404, miss.Status);
        Assert.Equal("404 Not Found\n", miss.BodyText);
    }

    [Fact]
    public async Task A_404_keeps_the_connection_open()
    {
        await using var proxy = TestProxy.Start(Web + Named("only", "path = \"/only\""));
        using var client = new WireClient(proxy.Port());

        Assert.Equal(404, (await client.RoundTripAsync("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        Assert.Equal(404, (await client.RoundTripAsync("POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")).Status);
        Assert.Equal("only", (await client.RoundTripAsync("GET /only HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
    }

    [Fact]
    public async Task A_route_with_listeners_serves_only_those_listeners()
    {
        await using var proxy = TestProxy.Start("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners]]
            name = "internal"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "admin"
            listeners = ["internal"]
            respond = { status = 200, body = "admin" }

            [[routes]]
            name = "public"
            listeners = ["web"]
            respond = { status = 200, body = "public" }
            [routes.match]
            path_prefix = "/"

            [[routes]]
            name = "everywhere"
            respond = { status = 200, body = "everywhere" }
            """);

        Assert.Equal("admin", (await GetAsync(proxy, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "internal")).BodyText);
        Assert.Equal("public", (await GetAsync(proxy, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "web")).BodyText);
    }

    [Fact]
    public async Task Routes_without_listeners_serve_every_listener()
    {
        await using var proxy = TestProxy.Start("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners]]
            name = "internal"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "admin"
            listeners = ["internal"]
            respond = { status = 200, body = "admin" }
            [routes.match]
            path = "/admin"

            [[routes]]
            name = "everywhere"
            respond = { status = 200, body = "everywhere" }
            """);

        Assert.Equal("everywhere", (await GetAsync(proxy, "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n", "web")).BodyText);
        Assert.Equal("admin", (await GetAsync(proxy, "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n", "internal")).BodyText);
        Assert.Equal("everywhere", (await GetAsync(proxy, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "internal")).BodyText);
    }

    [Fact]
    public async Task Respond_route_sends_status_body_and_headers()
    {
        await using var proxy = TestProxy.Start(Web + """
            [[routes]]
            name = "teapot"
            respond = { status = 418, body = "short and stout\n", headers = { "Content-Type" = "text/plain", "X-Brew" = "earl grey" } }
            """);
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(418, response.Status);
        Assert.Equal("short and stout\n", response.BodyText);
        Assert.Equal("16", response.Header("Content-Length"));
        Assert.Equal("text/plain", response.Header("Content-Type"));
        Assert.Equal("earl grey", response.Header("X-Brew"));

        var head = await client.RoundTripAsync("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(418, head.Status);
        Assert.Equal("16", head.Header("Content-Length"));
        Assert.Equal("earl grey", head.Header("X-Brew"));
        Assert.Equal(0, client.Buffered);
        Assert.Equal(418, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
    }

    [Fact]
    public async Task Respond_route_with_curl_head_and_get()
    {
        await using var proxy = TestProxy.Start(Web + """
            [[routes]]
            name = "hello"
            respond = { status = 200, body = "hello\n" }
            """);

        var get = await Processes.CurlAsync(proxy.Url().ToString());
        var head = await Processes.CurlAsync("-I", proxy.Url().ToString());

        Assert.Equal("hello\n", get.StdOut);
        Assert.Equal(0, head.ExitCode);
        Assert.StartsWith("HTTP/1.1 200 OK", head.StdOut);
    }

    [Fact]
    public async Task Respond_route_204_has_no_body_or_length()
    {
        await using var proxy = TestProxy.Start(Web + """
            [[routes]]
            name = "empty"
            respond = { status = 204 }
            """);
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(204, response.Status);
        Assert.False(response.Has("Content-Length"));
        Assert.Equal(204, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        Assert.Equal(0, client.Buffered);
    }

    [Fact]
    public async Task Respond_route_skips_a_request_body_and_keeps_the_connection()
    {
        await using var proxy = TestProxy.Start(Web + """
            [[routes]]
            name = "ok"
            respond = { status = 200, body = "ok" }
            """);
        using var client = new WireClient(proxy.Port());

        var first = await client.RoundTripAsync("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nGET /");
        var second = await client.RoundTripAsync("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
        var third = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(("ok", "ok", "ok"), (first.BodyText, second.BodyText, third.BodyText));
        Assert.Equal(0, client.Buffered);
    }

    [Fact]
    public async Task Strip_prefix_rewrites_the_forwarded_path()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(r.RequestLine.Split(' ')[1]));
        await using var proxy = TestProxy.Start(Web + $$"""
            [[routes]]
            name = "api"
            upstream = "app"
            strip_prefix = "/api"
            [routes.match]
            path_prefix = "/api"

            [[routes]]
            name = "rest"
            upstream = "app"

            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{upstream.Port}}" } ]
            """);
        using var client = new WireClient(proxy.Port());

        async Task<string> Forwarded(string target) => (await client.RoundTripAsync($"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText;

        Assert.Equal("/users/7", await Forwarded("/api/users/7"));
        Assert.Equal("/users?q=1", await Forwarded("/api/users?q=1"));
        Assert.Equal("/", await Forwarded("/api"));
        Assert.Equal("/", await Forwarded("/api/"));
        Assert.Equal("/?x=/api", await Forwarded("/api?x=/api"));
        Assert.Equal("/v", await Forwarded("http://h/api/v"));
        // Another route: no rewriting.
        Assert.Equal("/other/api", await Forwarded("/other/api"));
    }

    [Fact]
    public async Task Paths_are_matched_and_forwarded_in_normal_form()
    {
        // A respond route guards /admin/; everything else goes to the upstream. Dot segments and escaped letters
        // must not walk past the guard to an upstream that would itself resolve them to /admin/.
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(r.RequestLine.Split(' ')[1]));
        await using var proxy = TestProxy.Start(Web + $$"""
            [[routes]]
            name = "guard"
            respond = { status = 403, body = "guarded" }
            [routes.match]
            path_prefix = "/admin/"

            [[routes]]
            name = "app"
            upstream = "app"

            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{upstream.Port}}" } ]
            """);
        using var client = new WireClient(proxy.Port());

        async Task<WireResponse> Get(string target) => await client.RoundTripAsync($"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");

        foreach (var sneaky in new[] { "/public/../admin/x", "/%61dmin/x", "/%2e%2e/admin/x", "/./admin/x", "/a/b/../../admin/", "http://h/x/../admin/y" })
        {
            var response = await Get(sneaky);
            Assert.True(response.Status == 403, $"{sneaky} -> {response.Status} {response.BodyText}");
        }
        Assert.Empty(upstream.Requests);

        Assert.Equal("/b/~x?q=/../%61", (await Get("/a/../b/%7ex?q=/../%61")).BodyText);
        Assert.Equal("/a%2Fadmin/x", (await Get("/a%2fadmin/x")).BodyText);
        Assert.Equal("/.well-known/x", (await Get("/.well-known/x")).BodyText);
        Assert.Equal(3, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_malformed_escape_in_the_path_is_400_and_not_forwarded()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok("reached"));
        await using var proxy = TestProxy.Start(Web + $$"""
            [[routes]]
            name = "app"
            upstream = "app"

            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{upstream.Port}}" } ]
            """);

        foreach (var target in new[] { "/a%zz", "/%", "/x/%4" })
        {
            var response = await GetAsync(proxy, $"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.Equal(400, response.Status);
            Assert.Equal("close", response.Header("Connection"));
        }
        Assert.Equal(0, upstream.Connections);
    }

    [Fact]
    public async Task A_host_with_a_trailing_dot_is_the_same_name()
    {
        await using var proxy = TestProxy.Start(Web
            + Named("api", "host = \"api.example.com\"")
            + Named("wild", "host = \"*.example.org\""));

        Assert.Equal("api", await MatchedAsync(proxy, "GET", "/", "api.example.com."));
        Assert.Equal("api", await MatchedAsync(proxy, "GET", "/", "api.example.com.:80"));
        Assert.Equal("wild", await MatchedAsync(proxy, "GET", "/", "a.example.org."));
        Assert.Equal("404", await MatchedAsync(proxy, "GET", "/", "api.example.com.."));
    }

    [Fact]
    public async Task Routes_forward_to_their_own_upstreams()
    {
        await using var one = new RawUpstream(_ => RawUpstream.Ok("one"));
        await using var two = new RawUpstream(_ => RawUpstream.Ok("two"));
        await using var proxy = TestProxy.Start(Web + $$"""
            [[routes]]
            name = "a"
            upstream = "one"
            [routes.match]
            host = "one.test"

            [[routes]]
            name = "b"
            upstream = "two"
            [routes.match]
            host = "*.two.test"

            [upstreams.one]
            servers = [ { address = "127.0.0.1:{{one.Port}}" } ]

            [upstreams.two]
            servers = [ { address = "127.0.0.1:{{two.Port}}" } ]
            """);
        using var client = new WireClient(proxy.Port());

        Assert.Equal("one", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: one.test\r\n\r\n")).BodyText);
        Assert.Equal("two", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x.two.test\r\n\r\n")).BodyText);
        Assert.Equal("one", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: ONE.test:80\r\n\r\n")).BodyText);
        Assert.Equal(404, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: two.test\r\n\r\n")).Status);
    }

    [Fact]
    public async Task Reload_swaps_routes_on_the_same_listener()
    {
        await using var proxy = TestProxy.Start(Web + Named("old", ""));
        Assert.Equal("old", await MatchedAsync(proxy, "GET", "/", "a"));

        proxy.Reload(Web + Named("new", ""));

        Assert.Equal("new", await MatchedAsync(proxy, "GET", "/", "a"));
    }
}
