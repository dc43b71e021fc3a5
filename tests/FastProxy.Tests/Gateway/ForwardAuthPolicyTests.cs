using System.Diagnostics;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.ForwardAuthHarness;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// forward_auth at the policy level: the chain run on a parsed request, the call made by the host's outbound client
/// to a real auth server on loopback (<see cref="RawUpstream"/>, which records what it was asked and answers what
/// the test says). What the upstream and the client then receive over the proxy is in ForwardAuthProxyTests.
/// </summary>
public sealed class ForwardAuthPolicyTests
{
    private const string Get = "GET /orders/7?page=2 HTTP/1.1\r\nHost: api.example.com:8080";

    [Fact]
    public async Task The_auth_service_is_asked_with_the_clients_credentials_and_the_forwarded_set_the_proxy_computes()
    {
        await using var auth = new RawUpstream(_ => Answer(200));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_ask");

        var (answer, _) = await harness.RunAsync(Get + "\r\nAuthorization: Bearer abc\r\nCookie: a=1\r\nCookie: b=2\r\nAccept: text/html" +
            "\r\nX-Forwarded-Uri: /admin\r\nX-Forwarded-For: 10.9.9.9\r\nX-Original-URL: http://evil/\r\nUser-Agent: curl/8\r\nContent-Length: 0", secure: true);

        Assert.Null(answer);
        var asked = Assert.Single(auth.Requests);
        Assert.Equal("GET /verify HTTP/1.1", asked.RequestLine);
        Assert.Equal("Bearer abc", asked.Header("authorization"));
        // Two Cookie fields (as HTTP/2 clients send them) become one.
        Assert.Equal("a=1; b=2", asked.Header("cookie"));
        Assert.Equal("text/html", asked.Header("accept"));
        // Computed by the proxy: the client's forged X-Forwarded-Uri, X-Forwarded-For and X-Original-URL never reach it.
        Assert.Equal("GET", asked.Header("x-forwarded-method"));
        Assert.Equal("https", asked.Header("x-forwarded-proto"));
        Assert.Equal("api.example.com:8080", asked.Header("x-forwarded-host"));
        Assert.Equal("/orders/7?page=2", asked.Header("x-forwarded-uri"));
        Assert.Equal("203.0.113.7", asked.Header("x-forwarded-for"));
        Assert.Equal("GET", asked.Header("x-original-method"));
        Assert.Equal("https://api.example.com:8080/orders/7?page=2", asked.Header("x-original-url"));
        // Not listed in request_headers: not sent; and no body, whatever the client's framing said.
        Assert.Null(asked.Header("user-agent"));
        Assert.Null(asked.Header("content-length"));
        Assert.Empty(asked.Body);
    }

    [Fact]
    public async Task Request_headers_replaces_the_default_list()
    {
        await using var auth = new RawUpstream(_ => Answer(200));
        var harness = new ForwardAuthHarness(UrlOf(auth), """request_headers = ["X-Token"]""", name: "fa_list");

        await harness.RunAsync(Get + "\r\nAuthorization: Bearer abc\r\nx-token: t1");

        var asked = Assert.Single(auth.Requests);
        Assert.Equal("t1", asked.Header("x-token"));
        Assert.Null(asked.Header("authorization"));
        Assert.Equal("/orders/7?page=2", asked.Header("x-forwarded-uri"));
    }

    [Fact]
    public async Task A_query_parameter_an_earlier_policy_took_out_is_not_shown_to_the_auth_service()
    {
        await using var auth = new RawUpstream(_ => Answer(200));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_query");

        await harness.RunAsync("GET /x?apikey=secret&page=2 HTTP/1.1\r\nHost: h", before: c => c.RemoveQueryParameter("apikey"u8));

        Assert.Equal("/x?page=2", Assert.Single(auth.Requests).Header("x-forwarded-uri"));
    }

    [Fact]
    public async Task A_2xx_lets_the_request_go_on_with_copy_headers_set_and_the_clients_forged_copy_removed()
    {
        await using var auth = new RawUpstream(_ => Answer(204, "X-User: alice\r\nX-Groups: a\r\nX-Groups: b\r\nX-Secret: no\r\n"));
        var harness = new ForwardAuthHarness(UrlOf(auth), """copy_headers = ["X-User", "x-groups", "x-tenant"]""", name: "fa_copy");

        var (answer, context) = await harness.RunAsync(Get + "\r\nX-User: mallory\r\nX-Tenant: forged\r\nX-Other: kept");

        Assert.Null(answer);
        // The client's x-user is replaced, and its x-tenant dropped although the auth answer has none: never kept.
        Assert.Equal(["x-user: mallory", "x-tenant: forged"], Removed(context));
        Assert.Equal("x-user: alice\r\nx-groups: a\r\nx-groups: b\r\n", Text(context.RequestLines));
        Assert.True(context.ResponseLines.IsEmpty);
    }

    [Fact]
    public async Task Copy_response_headers_and_consumer_header_take_the_session_cookie_and_the_consumer_from_a_2xx()
    {
        await using var auth = new RawUpstream(r => Answer(200, $"Set-Cookie: s=refreshed; HttpOnly\r\nX-Auth-User: {(r.Header("authorization") == "alice" ? "alice" : "nobody")}\r\n"));
        var harness = new ForwardAuthHarness(UrlOf(auth), """
            copy_response_headers = ["set-cookie"]
            consumer_header = "X-Auth-User"
            """, extra: """
            [consumers.alice]
            groups = ["gold"]
            """, name: "fa_consumer");

        var (answer, context) = await harness.RunAsync(Get + "\r\nAuthorization: alice");
        var (_, unknown) = await harness.RunAsync(Get + "\r\nAuthorization: bob");

        Assert.Null(answer);
        Assert.Equal("set-cookie: s=refreshed; HttpOnly\r\n", Text(context.ResponseLines));
        Assert.Equal("alice", context.Consumer?.Name);
        // A name that is no declared consumer: the request goes on without one.
        Assert.Null(unknown.Consumer);
    }

    [Fact]
    public async Task A_401_is_relayed_with_its_challenge_body_and_type_and_nothing_internal()
    {
        await using var auth = new RawUpstream(_ => Answer(401,
            "WWW-Authenticate: Bearer realm=\"api\"\r\nContent-Type: application/json\r\nServer: authd/1.0\r\nX-Internal: 1\r\n", """{"error":"login"}"""));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_401");
        long before = harness.Count("denied");

        var (answer, context) = await harness.RunAsync(Get);

        Assert.NotNull(answer);
        Assert.Equal(401, answer.Status);
        Assert.Equal("WWW-Authenticate: Bearer realm=\"api\"\r\nContent-Type: application/json\r\n", Headers(answer));
        Assert.Equal("""{"error":"login"}""", Body(answer));
        Assert.Equal(before + 1, harness.Count("denied"));
        Assert.True(context.RequestLines.IsEmpty);
    }

    [Fact]
    public async Task A_403_and_a_429_are_relayed_as_given()
    {
        int next = 0;
        await using var auth = new RawUpstream(_ => Interlocked.Increment(ref next) == 1
            ? Answer(403, "Content-Type: text/plain\r\n", "no")
            : Answer(429, "Retry-After: 7\r\n"));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_403");

        var (forbidden, _) = await harness.RunAsync(Get);
        var (limited, _) = await harness.RunAsync(Get);

        Assert.Equal(403, forbidden!.Status);
        Assert.Equal("no", Body(forbidden));
        Assert.Equal(429, limited!.Status);
        Assert.Equal("Retry-After: 7\r\n", Headers(limited));
    }

    [Fact]
    public async Task A_302_to_the_login_page_is_relayed_not_followed_with_every_cookie()
    {
        await using var auth = new RawUpstream(_ => Answer(302,
            "Location: https://login.example.com/?rd=https%3A%2F%2Fapi.example.com%2F\r\nSet-Cookie: state=1; Path=/\r\nSet-Cookie: nonce=2; Path=/\r\nCache-Control: no-store\r\n"));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_302");
        long before = harness.Count("redirected");

        var (answer, _) = await harness.RunAsync(Get);

        Assert.Equal(302, answer!.Status);
        Assert.Equal("Location: https://login.example.com/?rd=https%3A%2F%2Fapi.example.com%2F\r\nSet-Cookie: state=1; Path=/\r\nSet-Cookie: nonce=2; Path=/\r\nCache-Control: no-store\r\n",
            Headers(answer));
        Assert.Equal(before + 1, harness.Count("redirected"));
        // Not followed: the auth server was asked once, and nobody asked login.example.com.
        Assert.Single(auth.Requests);
    }

    [Fact]
    public async Task A_5xx_from_the_auth_service_is_a_503_and_its_error_page_stays_behind()
    {
        await using var auth = new RawUpstream(_ => Answer(500, "Content-Type: text/plain\r\n", "stack trace: secret"));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_500");
        long before = harness.Count("auth_failed");

        var (answer, _) = await harness.RunAsync(Get);

        Assert.Equal(503, answer!.Status);
        Assert.DoesNotContain("secret", Body(answer));
        Assert.Equal(before + 1, harness.Count("auth_failed"));
    }

    [Fact]
    public async Task An_auth_service_that_does_not_answer_within_timeout_is_a_503_in_bounded_time()
    {
        // parse: false: it reads the request and never answers.
        await using var auth = new RawUpstream(parse: false);
        var harness = new ForwardAuthHarness(UrlOf(auth), """timeout = "300ms" """, name: "fa_slow");
        long before = harness.Count("auth_timeout");
        var clock = Stopwatch.StartNew();

        // Without the deadline this would wait forever: the test's own bound is far above the timeout.
        var (answer, _) = await harness.RunAsync(Get).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(503, answer!.Status);
        Assert.Equal(before + 1, harness.Count("auth_timeout"));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"answered after {clock.Elapsed}, before the timeout");
    }

    [Fact]
    public async Task An_auth_service_that_is_down_is_a_503()
    {
        var harness = new ForwardAuthHarness($"http://127.0.0.1:{ClosedPort()}/verify", name: "fa_down");
        long before = harness.Count("auth_unreachable");

        var (answer, _) = await harness.RunAsync(Get).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(503, answer!.Status);
        Assert.Equal("503 Service Unavailable\n", Body(answer));
        Assert.Equal(before + 1, harness.Count("auth_unreachable"));
    }

    [Fact]
    public async Task An_answer_over_64_KiB_is_a_503_and_one_of_64_KiB_is_relayed()
    {
        int next = 0;
        await using var auth = new RawUpstream(_ => Answer(401, "", new string('x', 64 * 1024 + (Interlocked.Increment(ref next) == 1 ? 1 : 0))));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_big");

        var (tooLarge, _) = await harness.RunAsync(Get);
        var (atTheBound, _) = await harness.RunAsync(Get);

        Assert.Equal(503, tooLarge!.Status);
        Assert.Equal(401, atTheBound!.Status);
        Assert.Equal(64 * 1024, atTheBound.Body.Length);
    }

    [Fact]
    public async Task A_chunked_answer_over_64_KiB_is_a_503_too()
    {
        // No Content-Length to refuse it up front: the bound holds while reading.
        var chunk = new string('x', 40 * 1024);
        await using var auth = new RawUpstream(_ => System.Text.Encoding.ASCII.GetBytes(
            $"HTTP/1.1 401 X\r\nTransfer-Encoding: chunked\r\n\r\n{chunk.Length:x}\r\n{chunk}\r\n{chunk.Length:x}\r\n{chunk}\r\n0\r\n\r\n"));
        var harness = new ForwardAuthHarness(UrlOf(auth), name: "fa_bigchunked");

        var (answer, _) = await harness.RunAsync(Get);

        Assert.Equal(503, answer!.Status);
    }

    [Fact]
    public async Task Calls_reuse_one_pooled_connection_to_the_auth_service()
    {
        await using var auth = new RawUpstream(_ => Answer(200));
        var harness = new ForwardAuthHarness(UrlOf(auth), http: new FastProxy.Outbound.OutboundHttp(), name: "fa_pool");

        for (int i = 0; i < 5; i++) Assert.Null((await harness.RunAsync(Get)).Answer);

        Assert.Equal(5, auth.Requests.Count);
        Assert.Equal(1, auth.Connections);
    }
}
