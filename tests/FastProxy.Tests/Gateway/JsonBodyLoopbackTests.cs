using System.Text;
using System.Text.Json;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// json_body end to end: curl (HTTP/1.1 and h2c with prior knowledge) and raw sockets through a real proxy to an origin
/// that records what it receives and answers with scripted bytes (Content-Length, chunked in pieces, gzip/br/deflate,
/// zstd, not JSON, too large, broken).
/// </summary>
public sealed class JsonBodyLoopbackTests
{
    private const string Policy = """
        [policies.j]
        type = "json_body"
        request = { add = { "source" = "gateway", "who" = "{header.x-user}" }, remove = ["password", "internal.debug"], rename = { "userName" = "user_name" } }
        response = { add = { "served_by" = "fp" }, remove = ["secret", "meta.trace"], rename = { "id" = "order_id" } }
        """;

    private const string UpstreamJson = """{"id":7,"secret":"s3","meta":{"trace":"t","page":1},"items":[{"id":1}]}""";
    private const string ExpectedJson = """{"order_id":7,"meta":{"page":1},"items":[{"id":1}],"served_by":"fp"}""";

    internal static string Config(int upstreamPort, string policy = Policy) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["j"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        {{policy}}
        """;

    private static byte[] Answer(string body, string type = "application/json", string extra = "")
        => RawUpstream.Ok(body, $"Content-Type: {type}\r\nETag: \"v1\"\r\n{extra}");

    private static byte[] Answer(byte[] body, string extra)
        => [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n{extra}\r\n"), .. body];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_json_response_is_rewritten_with_a_content_length_that_matches(bool h2)
    {
        await using var upstream = new RawUpstream(_ => Answer(UpstreamJson));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (status, headers, body) = await CurlAsync(proxy, h2, "/orders/7");

        Assert.Equal(h2 ? "HTTP/2 200" : "HTTP/1.1 200 OK", status);
        Assert.Equal(ExpectedJson, Encoding.UTF8.GetString(body));
        Assert.Equal([body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)], Values(headers, "content-length"));
        Assert.Empty(Values(headers, "etag"));
        Assert.Empty(Values(headers, "transfer-encoding"));
        Assert.Empty(Values(headers, "x-json-transform"));
    }

    /// <summary>
    /// /metrics counts what json_body did (promtool-checked scrapes): a rewritten response and a response with an
    /// unknown coding left as it came. The counts are process-wide (other tests run alongside), so they are read as
    /// growth between two scrapes.
    /// </summary>
    [Fact]
    public async Task Metrics_count_rewritten_and_skipped_bodies()
    {
        int calls = 0;
        await using var upstream = new RawUpstream(_ => Interlocked.Increment(ref calls) == 1
            ? Answer(UpstreamJson)
            : Answer("(zstd frame bytes)"u8.ToArray(), "Content-Encoding: zstd\r\n"));
        await using var proxy = TestProxy.Start("[admin]\nbind = \"127.0.0.1:0\"\n\n" + Config(upstream.Port));
        var before = await Observability.MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);

        await CurlAsync(proxy, false, "/orders/7");
        await CurlAsync(proxy, false, "/orders/8");

        var after = await Observability.MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);
        double Growth(string name, params (string, string)[] labels) => after.Value(name, labels)!.Value - before.Value(name, labels)!.Value;
        Assert.True(Growth("fastproxy_json_body_transformed_total", ("side", "response")) >= 1);
        Assert.True(Growth("fastproxy_json_body_skipped_total", ("side", "response"), ("reason", "encoded")) >= 1);
        Assert.NotNull(after.Value("fastproxy_json_body_skipped_total", ("side", "request"), ("reason", "oversize")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_json_request_is_rewritten_before_it_reaches_the_upstream(bool h2)
    {
        await using var upstream = new RawUpstream(_ => Answer("{}", "text/plain"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        const string sent = """{"userName":"al","password":"hunter2","internal":{"debug":true,"keep":[1,2]},"source":"forged"}""";

        var (status, _, _) = await CurlAsync(proxy, h2, "/users", "-X", "POST", "-H", "Content-Type: application/json", "-H", "X-User: al\"ice",
            "--data-binary", sent);

        Assert.EndsWith("200" + (h2 ? "" : " OK"), status);
        var seen = Assert.Single(upstream.Requests);
        var received = Encoding.UTF8.GetString(seen.Body);
        Assert.Equal("""{"user_name":"al","internal":{"keep":[1,2]},"source":"gateway","who":"al\"ice"}""", received);
        Assert.Equal(seen.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Header("content-length"));
        Assert.Null(seen.Header("transfer-encoding"));
    }

    [Fact]
    public async Task A_chunked_json_request_goes_upstream_rewritten_with_a_content_length()
    {
        await using var upstream = new RawUpstream(_ => Answer("{}", "text/plain"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("POST /u HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "9\r\n{\"passwor\r\n" + "10\r\nd\":1,\"userName\":\r\n" + "4\r\n\"b\"}\r\n" + "0\r\n\r\n");

        Assert.Equal(200, response.Status);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("""{"user_name":"b","source":"gateway","who":null}""", Encoding.UTF8.GetString(seen.Body));
        Assert.Equal(seen.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Header("content-length"));
        Assert.Null(seen.Header("transfer-encoding"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_chunked_response_sent_in_pieces_is_rewritten_and_the_upstream_connection_reused(bool h2)
    {
        var json = Encoding.UTF8.GetBytes(UpstreamJson);
        await using var origin = new ScriptedOrigin(async (_, connection) =>
        {
            await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < json.Length; i += 20)
            {
                var piece = json.AsSpan(i, Math.Min(20, json.Length - i)).ToArray();
                await connection.SendAsync($"{piece.Length:x}\r\n");
                await connection.SendAsync([.. piece, (byte)'\r', (byte)'\n']);
                await Task.Delay(5);
            }
            await connection.SendAsync("0\r\nX-Trailer: t\r\n\r\n");
        });
        await using var proxy = TestProxy.Start(Config(origin.Port));

        for (int i = 0; i < 2; i++)
        {
            var (_, headers, body) = await CurlAsync(proxy, h2, "/c");
            Assert.Equal(ExpectedJson, Encoding.UTF8.GetString(body));
            Assert.Equal([body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)], Values(headers, "content-length"));
            Assert.Empty(Values(headers, "transfer-encoding"));
        }
        Assert.Equal(1, origin.Connections);
    }

    [Theory]
    [InlineData("gzip", false)]
    [InlineData("gzip", true)]
    [InlineData("br", false)]
    [InlineData("deflate", true)]
    public async Task A_compressed_response_is_decoded_rewritten_and_sent_in_identity(string coding, bool h2)
    {
        var compressed = JsonBodyTransformTests.Compress(coding, Encoding.UTF8.GetBytes(UpstreamJson));
        await using var upstream = new RawUpstream(_ => Answer(compressed, $"Content-Encoding: {coding}\r\nVary: Accept-Encoding\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (_, headers, body) = await CurlAsync(proxy, h2, "/z", "-H", "Accept-Encoding: gzip, br, deflate");

        Assert.Equal(ExpectedJson, Encoding.UTF8.GetString(body));
        Assert.Empty(Values(headers, "content-encoding"));
        Assert.Equal([body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)], Values(headers, "content-length"));
    }

    [Fact]
    public async Task A_gzip_request_is_decoded_rewritten_and_forwarded_in_identity()
    {
        await using var upstream = new RawUpstream(_ => Answer("{}", "text/plain"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var gz = JsonBodyTransformTests.Compress("gzip", """{"password":"p","a":1}"""u8.ToArray());
        using var client = new WireClient(proxy.Port());

        client.Send($"POST /g HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {gz.Length}\r\n\r\n");
        client.Send(gz);
        var response = await client.ReadFinalResponseAsync("POST");

        Assert.Equal(200, response.Status);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("""{"a":1,"source":"gateway","who":null}""", Encoding.UTF8.GetString(seen.Body));
        Assert.Null(seen.Header("content-encoding"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_coding_the_proxy_cannot_decode_passes_untouched_and_says_so(bool h2)
    {
        var opaque = "(zstd frame bytes)"u8.ToArray();
        await using var upstream = new RawUpstream(_ => Answer(opaque, "Content-Encoding: zstd\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (_, headers, body) = await CurlAsync(proxy, h2, "/zstd");

        Assert.Equal(opaque, body);
        Assert.Equal(["zstd"], Values(headers, "content-encoding"));
        Assert.Equal(["skipped-encoded"], Values(headers, "x-json-transform"));
    }

    [Fact]
    public async Task A_request_in_a_coding_the_proxy_cannot_decode_is_refused_with_415_and_not_forwarded()
    {
        await using var upstream = new RawUpstream(_ => Answer("{}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (status, headers, body) = await CurlAsync(proxy, h2: false, "/u", "-X", "POST", "-H", "Content-Type: application/json",
            "-H", "Content-Encoding: zstd", "--data-binary", "{\"password\":1}");

        Assert.Equal("HTTP/1.1 415 Unsupported Media Type", status);
        Assert.Equal(["application/problem+json"], Values(headers, "content-type"));
        Assert.Equal(415, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bodies_that_are_not_json_pass_untouched_both_ways(bool h2)
    {
        const string look = """{"secret":"stays","password":"stays"}""";
        await using var upstream = new RawUpstream(_ => Answer(look, "text/plain"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (_, headers, body) = await CurlAsync(proxy, h2, "/t", "-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", look);

        Assert.Equal(look, Encoding.UTF8.GetString(body));
        Assert.Equal(["\"v1\""], Values(headers, "etag"));
        Assert.Empty(Values(headers, "x-json-transform"));
        Assert.Equal(look, Encoding.UTF8.GetString(Assert.Single(upstream.Requests).Body));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_response_that_says_json_and_is_not_passes_untouched_and_says_so(bool h2)
    {
        await using var upstream = new RawUpstream(_ => Answer("<html>oops</html>"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (status, headers, body) = await CurlAsync(proxy, h2, "/bad");

        Assert.EndsWith("200" + (h2 ? "" : " OK"), status);
        Assert.Equal("<html>oops</html>", Encoding.UTF8.GetString(body));
        Assert.Equal(["skipped-invalid"], Values(headers, "x-json-transform"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_request_that_says_json_and_is_not_is_refused_with_400_problem_json(bool h2)
    {
        await using var upstream = new RawUpstream(_ => Answer("{}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var (status, headers, body) = await CurlAsync(proxy, h2, "/u", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "{\"password\":");

        Assert.StartsWith(h2 ? "HTTP/2 400" : "HTTP/1.1 400", status);
        Assert.Equal(["application/problem+json"], Values(headers, "content-type"));
        Assert.Equal("the request body is not valid JSON", JsonDocument.Parse(body).RootElement.GetProperty("detail").GetString());
        Assert.Empty(upstream.Requests);
    }

    private const string SmallPolicy = """
        [policies.j]
        type = "json_body"
        max_size = "64B"
        request = { remove = ["password"] }
        response = { remove = ["secret"] }
        """;

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task A_response_over_max_size_passes_untouched_and_says_so(bool h2, bool chunked)
    {
        var big = "{\"secret\":\"" + new string('s', 200) + "\"}";
        await using var origin = new ScriptedOrigin(async (_, connection) =>
        {
            if (!chunked)
            {
                await connection.SendAsync(Answer(big));
                return;
            }
            await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
            // Past 64 bytes after the second piece: the proxy has read some, then streams the rest.
            foreach (var piece in new[] { big[..40], big[40..100], big[100..] })
            {
                await connection.SendAsync($"{Encoding.UTF8.GetByteCount(piece):x}\r\n{piece}\r\n");
                await Task.Delay(20);
            }
            await connection.SendAsync("0\r\n\r\n");
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, SmallPolicy));

        for (int i = 0; i < 2; i++)
        {
            var (_, headers, body) = await CurlAsync(proxy, h2, "/big");
            Assert.Equal(big, Encoding.UTF8.GetString(body));
            Assert.Equal(["skipped-oversize"], Values(headers, "x-json-transform"));
        }
        Assert.Equal(1, origin.Connections);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task With_oversize_refuse_a_response_over_max_size_is_answered_502(bool h2, bool chunked)
    {
        var big = "{\"secret\":\"" + new string('s', 200) + "\"}";
        await using var origin = new ScriptedOrigin(async (_, connection) =>
        {
            if (!chunked) await connection.SendAsync(Answer(big));
            else await connection.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{big.Length:x}\r\n{big}\r\n0\r\n\r\n");
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, SmallPolicy + "\noversize = \"refuse\"\n"));

        var (status, _, body) = await CurlAsync(proxy, h2, "/big");

        Assert.StartsWith(h2 ? "HTTP/2 502" : "HTTP/1.1 502", status);
        Assert.DoesNotContain("sss", Encoding.UTF8.GetString(body));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_request_over_max_size_is_refused_413_and_never_reaches_the_upstream(bool h2)
    {
        await using var upstream = new RawUpstream(_ => Answer("{}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, SmallPolicy));
        var big = "{\"password\":\"" + new string('p', 200) + "\"}";

        var (status, headers, _) = await CurlAsync(proxy, h2, "/u", "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", big);

        Assert.StartsWith(h2 ? "HTTP/2 413" : "HTTP/1.1 413", status);
        Assert.Equal(["application/problem+json"], Values(headers, "content-type"));
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task A_route_without_response_edits_streams_responses_as_before()
    {
        await using var upstream = new RawUpstream(_ => Answer(UpstreamJson));
        await using var proxy = TestProxy.Start(Config(upstream.Port, """
            [policies.j]
            type = "json_body"
            request = { remove = ["password"] }
            """));

        var (_, headers, body) = await CurlAsync(proxy, h2: false, "/r");

        Assert.Equal(UpstreamJson, Encoding.UTF8.GetString(body));
        Assert.Equal(["\"v1\""], Values(headers, "etag"));
    }

    [Fact]
    public async Task An_http10_client_gets_a_rewritten_chunked_response_with_a_content_length()
    {
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{UpstreamJson.Length:x}\r\n{UpstreamJson}\r\n0\r\n\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET /old HTTP/1.0\r\nHost: a\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal(ExpectedJson, response.BodyText);
        Assert.Equal(ExpectedJson.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Header("content-length"));
        Assert.False(response.Has("transfer-encoding"));
    }

    [Fact]
    public async Task A_reload_changes_the_edits_for_the_next_request()
    {
        await using var upstream = new RawUpstream(_ => Answer("""{"a":1}"""));
        string Policy(int version) => $$"""
            [policies.j]
            type = "json_body"
            response = { add = { "v" = {{version}} } }
            """;
        await using var proxy = TestProxy.Start(Config(upstream.Port, Policy(1)));

        var (_, _, before) = await CurlAsync(proxy, h2: false, "/");
        proxy.Reload(Config(upstream.Port, Policy(2)));
        var (_, _, after) = await CurlAsync(proxy, h2: true, "/");

        Assert.Equal("""{"a":1,"v":1}""", Encoding.UTF8.GetString(before));
        Assert.Equal("""{"a":1,"v":2}""", Encoding.UTF8.GetString(after));
    }

    /// <summary>curl's view: the status line, the header fields (names lower-cased), the body's bytes.</summary>
    internal static async Task<(string Status, List<(string Name, string Value)> Headers, byte[] Body)> CurlAsync(TestProxy proxy, bool h2, string path,
        params string[] extra)
    {
        string bodyFile = Path.GetTempFileName();
        try
        {
            var result = await Processes.CurlAsync([h2 ? "--http2-prior-knowledge" : "--http1.1", "-D", "-", "-o", bodyFile, .. extra, proxy.Url(path).ToString()]);
            Assert.True(result.ExitCode == 0, $"curl failed ({result.ExitCode}): {result.StdErr}");
            var lines = result.StdOut.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            // Skip interim answers (100 Continue): the last status line starts the final head.
            int start = Array.FindLastIndex(lines, l => l.StartsWith("HTTP/", StringComparison.Ordinal));
            var headers = lines.Skip(start + 1)
                .Select(l => (Name: l[..l.IndexOf(':')].ToLowerInvariant(), Value: l[(l.IndexOf(':') + 1)..].Trim()))
                .ToList();
            return (lines[start].Trim(), headers, await File.ReadAllBytesAsync(bodyFile));
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }

    internal static List<string> Values(List<(string Name, string Value)> headers, string name) =>
        headers.Where(h => h.Name == name).Select(h => h.Value).ToList();
}
