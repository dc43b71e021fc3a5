using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The headers policy end to end: curl (HTTP/1.1 and h2c with prior knowledge) through a real proxy to a recording
/// origin. The origin sees the request edits; the client sees the response edits, on the HTTP/1.1 writer, on the
/// HTTP/2 direct answer (a small body) and on the HTTP/2 pump (a body larger than one frame).
/// </summary>
public sealed class HeadersPolicyLoopbackTests
{
    private const string Edits = """
        [policies.edit]
        type = "headers"
        request = { remove = ["x-debug"], rename = { "x-old" = "x-new" }, set = { "x-user" = "{consumer}", "x-client" = "{client_ip}" }, add = { "x-id" = "{request_id}", "x-echo" = "<{header.x-name}>" } }
        response = { remove = ["server"], rename = { "x-upstream-token" = "x-token" }, set = { "X-Frame-Options" = "DENY" }, add = { "x-id" = "{request_id}", "x-name" = "<{header.x-name}>" } }
        """;

    private static string Config(int upstreamPort, string policy = Edits) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["edit"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        {{policy}}
        """;

    private static byte[] OriginAnswer(int bodyLength) => RawUpstream.Ok(new string('o', bodyLength),
        "Server: origin\r\nX-Frame-Options: SAMEORIGIN\r\nX-Upstream-Token: t1\r\nX-Upstream-Token: t2\r\n");

    [Theory]
    [InlineData(false, 5)]
    [InlineData(false, 40_000)]
    [InlineData(true, 5)] // HTTP/2: the direct answer (HEADERS and DATA written at once)
    [InlineData(true, 40_000)] // HTTP/2: more than one frame, through the pump
    public async Task Curl_sees_the_response_edits_and_the_origin_the_request_edits(bool h2, int bodyLength)
    {
        await using var upstream = new RawUpstream(_ => OriginAnswer(bodyLength));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        // No authentication policy here: {consumer} has no value, so x-user is not written, and the client's goes anyway.
        // "café" arrives as UTF-8 bytes: obs-text (RFC 9110 5.5), copied through as it is.
        var (status, headers, body) = await CurlAsync(proxy, h2, "/x", "-H", "X-Debug: 1", "-H", "X-Old: v", "-H", "X-User: forged",
            "-H", "X-Name: café", "-H", "X-Request-Id: rid-1");

        Assert.Equal(h2 ? "HTTP/2 200" : "HTTP/1.1 200 OK", status);
        Assert.Equal(bodyLength, body.Length);
        var seen = Assert.Single(upstream.Requests);
        Assert.Null(seen.Header("x-debug"));
        Assert.Null(seen.Header("x-old"));
        Assert.Equal("v", seen.Header("x-new"));
        Assert.Null(seen.Header("x-user"));
        Assert.Equal("127.0.0.1", seen.Header("x-client"));
        Assert.Equal("rid-1", seen.Header("x-id"));
        Assert.Equal(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes("<café>")), seen.Header("x-echo"));

        Assert.Empty(Values(headers, "server"));
        Assert.Equal(["DENY"], Values(headers, "x-frame-options"));
        Assert.Empty(Values(headers, "x-upstream-token"));
        Assert.Equal(["t1", "t2"], Values(headers, "x-token"));
        Assert.Equal(["rid-1"], Values(headers, "x-id"));
        Assert.Equal(["<café>"], Values(headers, "x-name"));
        Assert.Single(Values(headers, "date"));
        Assert.Equal([bodyLength.ToString(System.Globalization.CultureInfo.InvariantCulture)], Values(headers, "content-length"));
    }

    [Fact]
    public async Task A_generated_request_id_is_the_same_on_the_request_and_the_response()
    {
        await using var upstream = new RawUpstream(_ => OriginAnswer(5));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (_, first, _) = await CurlAsync(proxy, h2: false, "/a");
        var (_, second, _) = await CurlAsync(proxy, h2: true, "/b");

        var ids = new[] { Assert.Single(Values(first, "x-id")), Assert.Single(Values(second, "x-id")) };
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.NotEqual(ids[0], ids[1]);
        Assert.Equal(ids, upstream.Requests.Select(r => r.Header("x-id")!).ToArray());
    }

    [Fact]
    public async Task A_response_template_reads_the_request_head_after_its_receive_buffer_was_reused()
    {
        // A body larger than what the proxy holds before forwarding is streamed: the head's receive blocks go back to
        // the shared pool when the streaming starts. While the origin holds the answer, another connection's large
        // body takes those blocks over. The response side must still read this request's X-Name and X-Request-Id.
        using var gate = new ManualResetEventSlim(false);
        int held = 0;
        await using var upstream = new RawUpstream(r =>
        {
            if (r.RequestLine.StartsWith("POST /held ", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref held);
                gate.Wait(TimeSpan.FromSeconds(15));
            }
            return OriginAnswer(5);
        });
        await using var proxy = TestProxy.Start(Config(upstream.Port, """
            [policies.edit]
            type = "headers"
            response = { add = { "x-name" = "<{header.x-name}>", "x-id" = "{request_id}" } }
            """));
        using var heldClient = new WireClient(proxy.Port());
        using var filler = new WireClient(proxy.Port());
        const int HeldBody = 200 * 1024, FillerBody = 1024 * 1024;

        heldClient.Send($"POST /held HTTP/1.1\r\nHost: a\r\nX-Name: held-name\r\nX-Request-Id: held-id\r\nContent-Length: {HeldBody}\r\n\r\n");
        await heldClient.SendAsync(Enumerable.Repeat((byte)'z', HeldBody).ToArray());
        await Wait.UntilAsync(() => Volatile.Read(ref held) == 1, "the origin to hold the first request");

        filler.Send($"POST /fill HTTP/1.1\r\nHost: a\r\nX-Name: filler\r\nContent-Length: {FillerBody}\r\n\r\n");
        await filler.SendAsync(Enumerable.Repeat((byte)'y', FillerBody).ToArray());
        var filled = await filler.ReadFinalResponseAsync("POST");
        Assert.Equal("<filler>", filled.Header("x-name"));

        gate.Set();
        var response = await heldClient.ReadFinalResponseAsync("POST");
        Assert.Equal(200, response.Status);
        Assert.Equal("<held-name>", response.Header("x-name"));
        Assert.Equal("held-id", response.Header("x-id"));
        Assert.Equal([HeldBody, FillerBody], upstream.Requests.Select(r => r.Body.Length).ToArray());
    }

    [Fact]
    public async Task A_reload_changes_the_edits_for_the_next_request()
    {
        await using var upstream = new RawUpstream(_ => OriginAnswer(5));
        string Policy(string version) => $$"""
            [policies.edit]
            type = "headers"
            request = { set = { "x-version" = "{{version}}" } }
            response = { set = { "x-version" = "{{version}}" } }
            """;
        await using var proxy = TestProxy.Start(Config(upstream.Port, Policy("one")));

        var (_, before, _) = await CurlAsync(proxy, h2: false, "/");
        proxy.Reload(Config(upstream.Port, Policy("two")));
        var (_, after, _) = await CurlAsync(proxy, h2: true, "/");

        Assert.Equal(["one"], Values(before, "x-version"));
        Assert.Equal(["two"], Values(after, "x-version"));
        Assert.Equal(["one", "two"], upstream.Requests.Select(r => r.Header("x-version")!).ToArray());
    }

    /// <summary>curl's view: the status line, the header fields (names lower-cased), the body's bytes.</summary>
    private static async Task<(string Status, List<(string Name, string Value)> Headers, byte[] Body)> CurlAsync(TestProxy proxy, bool h2, string path,
        params string[] extra)
    {
        string bodyFile = Path.GetTempFileName();
        try
        {
            var result = await Processes.CurlAsync([h2 ? "--http2-prior-knowledge" : "--http1.1", "-D", "-", "-o", bodyFile, .. extra, proxy.Url(path).ToString()]);
            Assert.True(result.ExitCode == 0, $"curl failed ({result.ExitCode}): {result.StdErr}");
            var lines = result.StdOut.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var headers = lines.Skip(1)
                .Select(l => (Name: l[..l.IndexOf(':')].ToLowerInvariant(), Value: l[(l.IndexOf(':') + 1)..].Trim()))
                .ToList();
            return (lines[0].Trim(), headers, await File.ReadAllBytesAsync(bodyFile));
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }

    private static List<string> Values(List<(string Name, string Value)> headers, string name) =>
        headers.Where(h => h.Name == name).Select(h => h.Value).ToList();
}
