using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.ForwardAuthHarness;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// forward_auth through the proxy, with curl over HTTP/1.1 and HTTP/2 (prior knowledge): a real auth server and a
/// counting origin on loopback, so "nothing reached the upstream" is a count of what the origin received.
/// </summary>
public sealed class ForwardAuthProxyTests
{
    public static TheoryData<string> Protocols => ["http1.1", "h2c"];

    private static string Config(int origin, string authUrl, string keys = "timeout = \"10s\"") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["fa_proxy"]

        [upstreams.app]
        servers = [{ address = "127.0.0.1:{{origin}}" }]

        [policies.fa_proxy]
        type = "forward_auth"
        url = "{{authUrl}}"
        copy_headers = ["x-user"]
        {{keys}}
        """;

    /// <summary>curl -i; the status, the head (as received: HTTP/2 names are lower-case) and the body.</summary>
    private static async Task<(int Status, string Head, string Body)> CurlAsync(string protocol, Uri url, params string[] args)
    {
        var result = await Processes.CurlAsync([.. protocol == "h2c" ? ["--http2-prior-knowledge"] : new[] { "--http1.1" }, "-i", .. args, url.ToString()]);
        int end = result.StdOut.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"curl exit {result.ExitCode}: {result.StdOut}{result.StdErr}");
        var head = result.StdOut[..end];
        var statusLine = head[..head.IndexOf("\r\n", StringComparison.Ordinal)];
        Assert.StartsWith(protocol == "h2c" ? "HTTP/2 " : "HTTP/1.1 ", statusLine);
        return (int.Parse(statusLine.Split(' ')[1]), head, result.StdOut[(end + 4)..]);
    }

    private static string? Field(string head, string name) => head.Split("\r\n")
        .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
        .Select(l => l[(name.Length + 1)..].Trim())
        .SingleOrDefault();

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task Allowed_the_origin_receives_the_copied_header_and_never_the_clients_forged_one(string protocol)
    {
        await using var origin = new RawUpstream(r => RawUpstream.Ok($"user={r.Header("x-user")} cookie={r.Header("cookie")}"));
        await using var auth = new RawUpstream(r => Answer(200, r.Header("cookie") == "session=good" ? "X-User: alice\r\n" : ""));
        await using var proxy = TestProxy.Start(Config(origin.Port, UrlOf(auth)));

        var allowed = await CurlAsync(protocol, proxy.Url("/orders?page=2"), "-H", "X-User: mallory", "-H", "Cookie: session=good");
        // The auth service says yes without naming anyone: the client's x-user still does not pass.
        var anonymous = await CurlAsync(protocol, proxy.Url("/orders"), "-H", "X-User: mallory");

        Assert.Equal(200, allowed.Status);
        Assert.Equal("user=alice cookie=session=good", allowed.Body);
        Assert.Equal(200, anonymous.Status);
        Assert.Equal("user= cookie=", anonymous.Body);
        var asked = auth.Requests[0];
        Assert.Equal("/orders?page=2", asked.Header("x-forwarded-uri"));
        Assert.Equal("GET", asked.Header("x-forwarded-method"));
        Assert.Equal("127.0.0.1", asked.Header("x-forwarded-for"));
        Assert.Equal($"127.0.0.1:{proxy.Port()}", asked.Header("x-forwarded-host"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task The_auth_service_names_the_consumer_and_refreshes_the_session_cookie(string protocol)
    {
        await using var origin = new RawUpstream(r => RawUpstream.Ok($"consumer={r.Header("x-consumer")} groups={r.Header("x-consumer-groups")}"));
        await using var auth = new RawUpstream(_ => Answer(200, "X-Auth-User: alice\r\nSet-Cookie: session=renewed; HttpOnly\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port, UrlOf(auth), """
            consumer_header = "x-auth-user"
            copy_response_headers = ["set-cookie"]

            [consumers.alice]
            groups = ["gold"]
            """));

        var response = await CurlAsync(protocol, proxy.Url("/a"), "-H", "X-Consumer: root");

        Assert.Equal(200, response.Status);
        Assert.Equal("consumer=alice groups=gold", response.Body);
        Assert.Equal("session=renewed; HttpOnly", Field(response.Head, "set-cookie"));
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task A_401_and_a_403_are_relayed_and_nothing_reaches_the_origin(string protocol)
    {
        await using var origin = new RawUpstream();
        await using var auth = new RawUpstream(r => r.Header("authorization") is null
            ? Answer(401, "WWW-Authenticate: Bearer realm=\"api\"\r\nContent-Type: application/json\r\nServer: authd\r\n", """{"error":"no token"}""")
            : Answer(403, "Content-Type: text/plain\r\n", "not yours"));
        await using var proxy = TestProxy.Start(Config(origin.Port, UrlOf(auth)));

        var unauthorized = await CurlAsync(protocol, proxy.Url("/a"));
        var forbidden = await CurlAsync(protocol, proxy.Url("/a"), "-H", "Authorization: Bearer x");

        Assert.Equal(401, unauthorized.Status);
        Assert.Equal("Bearer realm=\"api\"", Field(unauthorized.Head, "www-authenticate"));
        Assert.Equal("application/json", Field(unauthorized.Head, "content-type"));
        Assert.Null(Field(unauthorized.Head, "server"));
        Assert.Equal("""{"error":"no token"}""", unauthorized.Body);
        Assert.Equal(403, forbidden.Status);
        Assert.Equal("not yours", forbidden.Body);
        Assert.Equal(2, auth.Requests.Count);
        Assert.Empty(origin.Requests);
        Assert.Equal(0, origin.Connections);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task A_302_to_the_login_page_reaches_the_client_with_its_location_and_cookies(string protocol)
    {
        await using var origin = new RawUpstream();
        await using var auth = new RawUpstream(_ => Answer(302, "Location: https://login.example.com/start?rd=%2Fa\r\nSet-Cookie: state=1\r\nSet-Cookie: nonce=2\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port, UrlOf(auth)));

        var redirect = await CurlAsync(protocol, proxy.Url("/a"));

        Assert.Equal(302, redirect.Status);
        Assert.Equal("https://login.example.com/start?rd=%2Fa", Field(redirect.Head, "location"));
        Assert.Equal(["state=1", "nonce=2"], redirect.Head.Split("\r\n").Where(l => l.StartsWith("set-cookie:", StringComparison.OrdinalIgnoreCase)).Select(l => l[11..].Trim()));
        Assert.Empty(origin.Requests);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task An_auth_service_slower_than_timeout_gives_503_and_nothing_reaches_the_origin(string protocol)
    {
        await using var origin = new RawUpstream();
        // Reads the question, never answers.
        await using var auth = new RawUpstream(parse: false);
        await using var proxy = TestProxy.Start(Config(origin.Port, UrlOf(auth), "timeout = \"300ms\""));

        // curl's own --max-time (20 s) bounds the wait: without the policy's timeout it would be reached.
        var slow = await CurlAsync(protocol, proxy.Url("/a"));

        Assert.Equal(503, slow.Status);
        Assert.Equal("503 Service Unavailable\n", slow.Body);
        Assert.Empty(origin.Requests);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public async Task An_auth_service_that_is_down_gives_503_and_nothing_reaches_the_origin(string protocol)
    {
        await using var origin = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(origin.Port, $"http://127.0.0.1:{ClosedPort()}/verify"));

        var down = await CurlAsync(protocol, proxy.Url("/a"));

        Assert.Equal(503, down.Status);
        Assert.Equal("503 Service Unavailable\n", down.Body);
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task The_503_keeps_the_HTTP1_connection()
    {
        await using var origin = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(origin.Port, $"http://127.0.0.1:{ClosedPort()}/verify"));

        // Two requests in one curl: the second reuses the connection (nothing was left to read of the first GET).
        var result = await Processes.CurlAsync("--http1.1", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
            proxy.Url("/a").ToString(), proxy.Url("/b").ToString());

        Assert.Equal("503 1\n503 0\n", result.StdOut);
    }

    [Fact]
    public async Task A_reload_changing_the_url_asks_the_new_auth_service()
    {
        await using var origin = new RawUpstream();
        await using var denying = new RawUpstream(_ => Answer(401, "", "old"));
        await using var allowing = new RawUpstream(_ => Answer(200, "X-User: new\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port, UrlOf(denying)));

        var before = await CurlAsync("http1.1", proxy.Url("/a"));
        proxy.Reload(Config(origin.Port, UrlOf(allowing)));
        var after = await CurlAsync("h2c", proxy.Url("/a"));

        Assert.Equal(401, before.Status);
        Assert.Equal("old", before.Body);
        Assert.Equal(200, after.Status);
        Assert.Single(denying.Requests);
        Assert.Single(allowing.Requests);
        Assert.Equal("new", Assert.Single(origin.Requests).Header("x-user"));
    }

    [Fact]
    public async Task The_native_binary_asks_the_auth_service_and_logs_one_that_is_down()
    {
        // The AOT build's own outbound client (trimmed HttpClient), not the test process's.
        await using var origin = new RawUpstream(r => RawUpstream.Ok($"user={r.Header("x-user")}"));
        await using var auth = new RawUpstream(r => r.Header("authorization") == "Bearer ok"
            ? Answer(200, "X-User: alice\r\n")
            : Answer(401, "WWW-Authenticate: Bearer\r\n", "no"));
        int port = ProxyProcess.FreePort();
        int closed = ClosedPort();
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"

            [[routes]]
            upstream = "app"
            policies = ["down"]
            [routes.match]
            path_prefix = "/down"

            [[routes]]
            upstream = "app"
            policies = ["up"]

            [upstreams.app]
            servers = [{ address = "127.0.0.1:{{origin.Port}}" }]

            [policies.up]
            type = "forward_auth"
            url = "{{UrlOf(auth)}}"
            timeout = "10s"
            copy_headers = ["x-user"]

            [policies.down]
            type = "forward_auth"
            url = "http://127.0.0.1:{{closed}}/verify?secret=1"
            """, out _);
        await proxy.WaitForPortAsync(port);
        var url = new Uri($"http://127.0.0.1:{port}/");

        var allowed = await CurlAsync("http1.1", url, "-H", "Authorization: Bearer ok", "-H", "X-User: mallory");
        var denied = await CurlAsync("h2c", url, "-H", "Authorization: Bearer no");
        var down = await CurlAsync("http1.1", new Uri(url, "/down"));

        Assert.Equal(200, allowed.Status);
        Assert.Equal("user=alice", allowed.Body);
        Assert.Equal(401, denied.Status);
        Assert.Equal("no", denied.Body);
        Assert.Equal(503, down.Status);
        Assert.Single(origin.Requests);
        // The line names the URL without its query (it may hold a secret), and why.
        string expected = $"outbound call to http://127.0.0.1:{closed}/verify failed: Connection refused";
        for (int i = 0; i < 200 && !proxy.StdErr.Contains(expected, StringComparison.Ordinal); i++) await Task.Delay(25);
        Assert.Contains(expected, proxy.StdErr);
        Assert.DoesNotContain("secret", proxy.StdErr);
    }
}
