using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Observability;
using FastProxy.Tests.Observability.AccessLog;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// error_pages in a running proxy, with curl over HTTP/1.1 and HTTP/2 (prior knowledge): the proxy's own 502, 503,
/// 504 and 404, a rate_limit 429 and an api_key 401 answered with problem+json or HTML, their status and headers kept;
/// Accept negotiation; an upstream's own error body untouched by default and replaced with only_proxy_errors = false.
/// </summary>
public sealed class ErrorPagesLoopbackTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fp-errorpages-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string UpstreamError = """{"error":"database unavailable","code":17}""";

    /// <summary>The origin: /fail answers 500 with its own JSON body and a field of its own; anything else 200.</summary>
    private static byte[] Origin(UpstreamRequest r) => r.RequestLine.Contains("/fail")
        ? Encoding.ASCII.GetBytes($"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nX-Upstream: yes\r\nETag: \"v1\"\r\n"
            + $"Content-Length: {UpstreamError.Length}\r\n\r\n{UpstreamError}")
        : RawUpstream.Ok("ok");

    private string Config(int origin, int slow, int closedPort, string pages, string top = "") => $$"""
        {{top}}
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        policies = ["pages"]

        [[routes]]
        name = "down"
        upstream = "down"
        [routes.match]
        path_prefix = "/down"

        [[routes]]
        name = "slow"
        upstream = "slow"
        [routes.match]
        path_prefix = "/slow"

        [[routes]]
        name = "busy"
        upstream = "busy"
        [routes.match]
        path_prefix = "/busy"

        [[routes]]
        name = "limited"
        upstream = "app"
        policies = ["limit"]
        [routes.match]
        path_prefix = "/limited"

        [[routes]]
        name = "keys"
        upstream = "app"
        policies = ["keys"]
        [routes.match]
        path_prefix = "/keys"

        [[routes]]
        name = "app"
        upstream = "app"
        [routes.match]
        path_prefix = "/app"

        [upstreams.app]
        servers = ["127.0.0.1:{{origin}}"]

        [upstreams.down]
        servers = ["127.0.0.1:{{closedPort}}"]

        [upstreams.slow]
        servers = ["127.0.0.1:{{slow}}"]
        response_timeout = "300ms"

        [upstreams.busy]
        servers = ["127.0.0.1:{{slow}}"]
        response_timeout = "3s"
        [upstreams.busy.limits]
        max_requests = 1

        [consumers.alice]
        api_keys = ["sha256:{{AuthnTestKit.AliceDigest}}"]

        [policies.keys]
        type = "api_key"

        [policies.limit]
        type = "rate_limit"
        key = "route"
        rate = "1/h"

        [policies.pages]
        type = "error_pages"
        {{pages}}
        """;

    /// <summary>A port nothing listens on (bound, then closed).</summary>
    private static int ClosedPort() => ProxyProcess.FreePort();

    private static string Url(TestProxy proxy, string path) => $"http://127.0.0.1:{proxy.Port()}{path}";

    /// <summary>A problem+json page for <paramref name="status"/>, its instance the request id the client was given.</summary>
    private static void AssertProblem(CurlResponse r, int status, string title)
    {
        Assert.Equal(status, r.Status);
        Assert.Equal(["application/problem+json"], r.Values("content-type"));
        Assert.Equal([Encoding.UTF8.GetByteCount(r.Body).ToString()], r.Values("content-length"));
        using var json = JsonDocument.Parse(r.Body);
        var root = json.RootElement;
        Assert.Equal(["type", "title", "status", "detail", "instance"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("about:blank", root.GetProperty("type").GetString());
        Assert.Equal(title, root.GetProperty("title").GetString());
        Assert.Equal(status, root.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("detail").GetString()));
        Assert.Equal(Assert.Single(r.Values("x-request-id")), root.GetProperty("instance").GetString());
    }

    private static void AssertHtml(CurlResponse r, int status, string contains)
    {
        Assert.Equal(status, r.Status);
        Assert.Equal(["text/html; charset=utf-8"], r.Values("content-type"));
        Assert.Equal([Encoding.UTF8.GetByteCount(r.Body).ToString()], r.Values("content-length"));
        Assert.Contains(contains, r.Body);
    }

    [Theory]
    [InlineData("problem+json", false)]
    [InlineData("problem+json", true)]
    [InlineData("html", false)]
    [InlineData("html", true)]
    public async Task The_proxys_own_errors_and_policy_refusals_get_the_page_with_their_status_and_headers(string format, bool h2)
    {
        await using var origin = new RawUpstream(Origin);
        await using var slow = new RawUpstream(_ => []); // never answers
        await using var proxy = TestProxy.Start(Config(origin.Port, slow.Port, ClosedPort(), $"format = \"{format}\""));
        bool json = format == "problem+json";
        void Check(CurlResponse r, int status, string title)
        {
            if (json) AssertProblem(r, status, title);
            else AssertHtml(r, status, $"<h1>{status} {title}</h1>");
        }

        Check(await CurlAsync(h2, Url(proxy, "/down/x")), 502, "Bad Gateway");
        Check(await CurlAsync(h2, Url(proxy, "/slow/x")), 504, "Gateway Timeout");
        Check(await CurlAsync(h2, Url(proxy, "/nowhere")), 404, "Not Found");

        var unauthorized = await CurlAsync(h2, Url(proxy, "/keys/x"));
        Check(unauthorized, 401, "Unauthorized");
        Assert.Single(unauthorized.Values("www-authenticate"));

        Assert.Equal(200, (await CurlAsync(h2, Url(proxy, "/limited/x"))).Status);
        var limited = await CurlAsync(h2, Url(proxy, "/limited/x"));
        Check(limited, 429, "Too Many Requests");
        Assert.True(int.Parse(Assert.Single(limited.Values("retry-after"))) > 0);
        Assert.Single(limited.Values("ratelimit"));
        Assert.Single(limited.Values("ratelimit-policy"));

        // The origin's own answers pass as they are.
        var ok = await CurlAsync(h2, Url(proxy, "/app/x"));
        Assert.Equal((200, "ok"), (ok.Status, ok.Body));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_503_from_max_requests_gets_the_page_and_HEAD_gets_no_body(bool h2)
    {
        await using var origin = new RawUpstream(Origin);
        await using var slow = new RawUpstream(_ => []);
        File.WriteAllText(Path.Combine(_dir, "503.html"), "<h1>We are busy</h1>\n");
        File.WriteAllText(Path.Combine(_dir, "5xx.html"), "<h1>Something broke</h1>\n");
        await using var proxy = TestProxy.Start(Config(origin.Port, slow.Port, ClosedPort(),
            $"format = \"html\"\npages = {{ \"503\" = \"{Path.Combine(_dir, "503.html")}\", \"5xx\" = \"{Path.Combine(_dir, "5xx.html")}\" }}"));

        // One request in flight to "busy" (its server never answers) fills max_requests = 1: the next gets 503 at once.
        var first = CurlAsync(h2, Url(proxy, "/busy/first"));
        await Wait.UntilAsync(() => slow.Requests.Count == 1, "the first request to reach the slow server");
        var busy = await CurlAsync(h2, Url(proxy, "/busy/second"));
        Assert.Equal((503, "<h1>We are busy</h1>\n"), (busy.Status, busy.Body));
        Assert.Equal(["text/html; charset=utf-8"], busy.Values("content-type"));

        // The class's page for another 5xx, and for HEAD the same head without a body.
        var down = await CurlAsync(h2, Url(proxy, "/down/x"));
        Assert.Equal((502, "<h1>Something broke</h1>\n"), (down.Status, down.Body));
        var head = await CurlAsync(h2, Url(proxy, "/down/x"), null, "-I");
        Assert.Equal((502, ""), (head.Status, head.Body));
        Assert.Equal([Encoding.UTF8.GetByteCount(down.Body).ToString()], head.Values("content-length"));

        Assert.Equal(504, (await first).Status);
    }

    [Theory]
    [InlineData(null, "problem+json")]
    [InlineData("*/*", "problem+json")]
    [InlineData("application/json", "problem+json")]
    [InlineData("application/problem+json", "problem+json")]
    [InlineData("text/html", "html")]
    [InlineData("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", "html")]
    [InlineData("application/problem+json;q=0.5, text/html;q=0.9", "html")]
    [InlineData("text/html;q=0.1, application/*", "problem+json")]
    [InlineData("text/*, application/json;q=0", "html")]
    [InlineData("image/png", "problem+json")]
    public async Task Negotiate_picks_by_Accept_and_q_values(string? accept, string expected)
    {
        await using var origin = new RawUpstream(Origin);
        await using var proxy = TestProxy.Start(Config(origin.Port, origin.Port, ClosedPort(), "format = \"negotiate\""));
        foreach (bool h2 in new[] { false, true })
        {
            string[] args = accept is null ? [] : ["-H", $"Accept: {accept}"];
            var r = await CurlAsync(h2, Url(proxy, "/nowhere"), null, args);
            if (expected == "html") AssertHtml(r, 404, "<h1>404 Not Found</h1>");
            else AssertProblem(r, 404, "Not Found");
        }
    }

    [Fact]
    public async Task A_preference_list_decides_ties_and_an_Accept_without_either()
    {
        await using var origin = new RawUpstream(Origin);
        await using var proxy = TestProxy.Start(Config(origin.Port, origin.Port, ClosedPort(), "format = [\"html\", \"problem+json\"]"));
        AssertHtml(await CurlAsync(false, Url(proxy, "/nowhere")), 404, "<h1>404 Not Found</h1>");
        AssertHtml(await CurlAsync(true, Url(proxy, "/nowhere"), null, "-H", "Accept: image/png"), 404, "<h1>404 Not Found</h1>");
        AssertProblem(await CurlAsync(true, Url(proxy, "/nowhere"), null, "-H", "Accept: application/json"), 404, "Not Found");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upstreams_own_error_body_passes_untouched_by_default(bool h2)
    {
        await using var origin = new RawUpstream(Origin);
        await using var proxy = TestProxy.Start(Config(origin.Port, origin.Port, ClosedPort(), "statuses = [\"5xx\"]"));
        var r = await CurlAsync(h2, Url(proxy, "/app/fail"), null, "-H", "Accept: text/html");
        Assert.Equal((500, UpstreamError), (r.Status, r.Body));
        Assert.Equal(["application/json"], r.Values("content-type"));
        Assert.Equal(["yes"], r.Values("x-upstream"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_only_proxy_errors_false_an_upstream_error_gets_the_page_and_keeps_its_status_and_fields(bool h2)
    {
        await using var origin = new RawUpstream(Origin);
        await using var proxy = TestProxy.Start(Config(origin.Port, origin.Port, ClosedPort(), "statuses = [\"5xx\"]\nonly_proxy_errors = false"));
        for (int i = 0; i < 2; i++)
        {
            var r = await CurlAsync(h2, Url(proxy, "/app/fail"));
            AssertProblem(r, 500, "Internal Server Error");
            Assert.Equal(["yes"], r.Values("x-upstream"));
            Assert.Empty(r.Values("etag")); // it described the body that is gone
            Assert.DoesNotContain("database", r.Body);
        }
        // The upstream's body came whole with its head: skipped, and its connection used again.
        Assert.Equal(1, origin.Connections);
        var html = await CurlAsync(h2, Url(proxy, "/app/fail"), null, "-H", "Accept: text/html");
        AssertHtml(html, 500, "<h1>500 Internal Server Error</h1>");
        // 2xx answers and statuses not listed pass as they are.
        Assert.Equal((200, "ok"), ((await CurlAsync(h2, Url(proxy, "/app/x"))).Status, (await CurlAsync(h2, Url(proxy, "/app/x"))).Body));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upstream_error_body_still_arriving_is_not_waited_for_and_a_chunked_one_in_full_is_skipped(bool h2)
    {
        // /stream: a Content-Length of 1 MB of which 5 bytes come, then nothing: the page goes out without waiting for
        // the rest, and that upstream connection is closed. /chunked: a whole chunked body, skipped; the connection is kept.
        await using var origin = new RawUpstream(r => r.RequestLine.Contains("/stream")
            ? Encoding.ASCII.GetBytes("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"a\":")
            : Encoding.ASCII.GetBytes("HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port, origin.Port, ClosedPort(), "statuses = [\"5xx\"]\nonly_proxy_errors = false"));

        AssertProblem(await CurlAsync(h2, Url(proxy, "/app/chunked"), null, "--max-time", "20"), 502, "Bad Gateway");
        AssertProblem(await CurlAsync(h2, Url(proxy, "/app/chunked"), null, "--max-time", "20"), 502, "Bad Gateway");
        Assert.Equal(1, origin.Connections);
        AssertProblem(await CurlAsync(h2, Url(proxy, "/app/stream"), null, "--max-time", "20"), 503, "Service Unavailable");
        AssertProblem(await CurlAsync(h2, Url(proxy, "/app/chunked"), null, "--max-time", "20"), 502, "Bad Gateway");
        Assert.Equal(2, origin.Connections);
    }

    [Fact]
    public async Task The_access_log_and_metrics_keep_the_real_status_of_every_replaced_answer()
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(Origin);
        await using var proxy = TestProxy.Start(Config(origin.Port, origin.Port, ClosedPort(), "only_proxy_errors = false",
            top: "[admin]\nbind = \"127.0.0.1:0\"\n" + log.Section()));
        AssertProblem(await CurlAsync(false, Url(proxy, "/down/x")), 502, "Bad Gateway");
        Assert.Equal(200, (await CurlAsync(true, Url(proxy, "/limited/x"))).Status);
        AssertProblem(await CurlAsync(true, Url(proxy, "/limited/x")), 429, "Too Many Requests");
        AssertProblem(await CurlAsync(false, Url(proxy, "/app/fail")), 500, "Internal Server Error");
        AssertProblem(await CurlAsync(true, Url(proxy, "/nowhere")), 404, "Not Found");

        var lines = await log.WaitForJsonAsync(5);
        Assert.Equal([("/down/x", 502), ("/limited/x", 200), ("/limited/x", 429), ("/app/fail", 500), ("/nowhere", 404)],
            lines.Select(l => (l.GetProperty("path").GetString(), l.GetProperty("status").GetInt32())));
        var m = await MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);
        Assert.Equal(2, m.Sum("fastproxy_requests_total", ("code", "5xx")));
        Assert.Equal(2, m.Sum("fastproxy_requests_total", ("code", "4xx")));
        Assert.Equal(1, m.Sum("fastproxy_requests_total", ("code", "2xx")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_over_max_body_is_refused_with_the_listeners_page(bool h2)
    {
        await using var origin = new RawUpstream(Origin);
        await using var proxy = TestProxy.Start(Config(origin.Port, origin.Port, ClosedPort(), "format = \"problem+json\"", top: "[limits]\nmax_body = \"16B\"\n"));
        var r = await CurlAsync(h2, Url(proxy, "/app/upload"), null, "--data-binary", new string('x', 100));
        Assert.Equal(413, r.Status);
        Assert.Equal(["application/problem+json"], r.Values("content-type"));
        using var json = JsonDocument.Parse(r.Body);
        Assert.Equal("Content Too Large", json.RootElement.GetProperty("title").GetString());
        Assert.Equal(413, json.RootElement.GetProperty("status").GetInt32());
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public void A_policy_answers_own_fields_stay_and_only_its_body_and_content_fields_change()
    {
        // A 405 as validate gives it (Allow is required with it, RFC 9110 §15.5.6), and the lines the chain added.
        var answer = new FastProxy.Policies.Pipeline.PolicyAnswer(405, FastProxy.Policies.Pipeline.RejectionCounter.For("v", "validate", "method"),
            [new("Allow", "GET, HEAD"), new("Content-Language", "en")], body: "{\"detail\":\"method\"}", contentType: "application/problem+json");
        var page = FastProxy.Policies.Types.ErrorPages.ErrorPagesPolicy.HtmlPage(405, []);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        FastProxy.Forwarding.ErrorPageWriter.WritePolicyAnswer(output, answer, page, "Retry-After: 5\r\nContent-Type: text/plain\r\n"u8,
            FastProxy.Forwarding.ConnectionHeader.None, headRequest: false, trace: null);
        var text = Encoding.ASCII.GetString(output.WrittenSpan);
        var head = text[..text.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        Assert.Equal("HTTP/1.1 405 Method Not Allowed", head[0]);
        Assert.Equal(["Allow: GET, HEAD", "Retry-After: 5", "Content-Type: text/html; charset=utf-8", $"Content-Length: {page.Body.Length}"], head.Skip(2));
        Assert.EndsWith("<h1>405 Method Not Allowed</h1><p>This method is not allowed here.</p></body>\n</html>\n", text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_forward_auth_services_own_refusal_is_an_upstreams_answer(bool h2)
    {
        const string refusal = """{"error":"token expired"}""";
        string contentType = "application/json";
        await using var auth = new RawUpstream(_ => Encoding.ASCII.GetBytes(
            $"HTTP/1.1 401 Unauthorized\r\nContent-Type: {contentType}\r\nWWW-Authenticate: Bearer\r\nContent-Length: {refusal.Length}\r\n\r\n{refusal}"));
        await using var origin = new RawUpstream(Origin);
        string Routed(string pages) => Config(origin.Port, origin.Port, ClosedPort(), pages).Replace("policies = [\"keys\"]", "policies = [\"auth\"]")
            + $"\n[policies.auth]\ntype = \"forward_auth\"\nurl = \"http://127.0.0.1:{auth.Port}/verify\"\n";
        await using var proxy = TestProxy.Start(Routed(""));
        var relayed = await CurlAsync(h2, Url(proxy, "/keys/x"));
        Assert.Equal((401, refusal), (relayed.Status, relayed.Body));
        Assert.Equal(["Bearer"], relayed.Values("www-authenticate"));

        proxy.Reload(Routed("only_proxy_errors = false"));
        var replaced = await CurlAsync(h2, Url(proxy, "/keys/x"));
        AssertProblem(replaced, 401, "Unauthorized");
        Assert.Equal(["Bearer"], replaced.Values("www-authenticate"));

        // An answer that is an RFC 9457 problem already keeps its own (more precise) body when the page would be one too;
        // a client asking for HTML still gets the page.
        contentType = "application/problem+json";
        var problem = await CurlAsync(h2, Url(proxy, "/keys/x"));
        Assert.Equal((401, refusal), (problem.Status, problem.Body));
        Assert.Equal(["application/problem+json"], problem.Values("content-type"));
        AssertHtml(await CurlAsync(h2, Url(proxy, "/keys/x"), null, "-H", "Accept: text/html"), 401, "<h1>401 Unauthorized</h1>");
        Assert.Empty(origin.Requests);
    }
}
