using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// validate in a running proxy, with curl over HTTP/1.1 and HTTP/2 (prior knowledge) and raw sockets for framing, and a
/// counting origin behind it: every refusal is RFC 9457 problem+json naming what failed, and nothing of a refused
/// request reaches the origin; a valid body reaches it byte for byte with a Content-Length.
/// </summary>
public sealed class ValidateLoopbackTests : IDisposable
{
    private const string Schema = """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "required": ["name", "qty"],
          "properties": {
            "name": { "type": "string", "minLength": 1 },
            "qty": { "type": "integer", "minimum": 1 },
            "tags": { "type": "array", "items": { "type": "string" } }
          },
          "additionalProperties": false
        }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("fastproxy-validate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(int upstream, string policy) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["check"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstream}}"]

        [policies.check]
        type = "validate"
        {{policy}}
        """;

    private string SchemaPolicy(string extra = "")
    {
        var file = Path.Combine(_dir, "order.json");
        File.WriteAllText(file, Schema);
        return $"json_schema = \"{file}\"\n{extra}";
    }

    private static string Url(TestProxy proxy, string path = "/orders") => $"http://127.0.0.1:{proxy.Port()}{path}";

    /// <summary>The answer is problem+json with this status, and its "field" names <paramref name="field"/>.</summary>
    private static JsonElement AssertProblem(CurlResponse response, int status, string field)
    {
        Assert.Equal(status, response.Status);
        Assert.Equal(["application/problem+json"], response.Values("content-type"));
        var problem = JsonDocument.Parse(response.Body).RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal("about:blank", problem.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        Assert.Equal(field, problem.GetProperty("field").GetString());
        return problem;
    }

    [Fact]
    public async Task A_method_not_listed_is_405_with_Allow_and_never_reaches_the_origin()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "methods = [\"GET\", \"post\"]"));
        foreach (bool h2 in new[] { false, true })
        {
            var refused = await CurlAsync(h2, Url(proxy), null, "-X", "DELETE");
            AssertProblem(refused, 405, "method");
            Assert.Equal(["GET, POST, HEAD"], refused.Values("allow"));
            Assert.Empty(upstream.Requests);
        }
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal(200, (await CurlAsync(h2, Url(proxy), null)).Status);
            Assert.Equal(200, (await CurlAsync(h2, Url(proxy), null, "-I")).Status); // HEAD comes with GET
            Assert.Equal(200, (await CurlAsync(h2, Url(proxy), null, "-d", "x=1")).Status);
        }
        Assert.Equal(6, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_missing_header_or_query_parameter_is_400_naming_it()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port,
            "required_headers = [\"X-Tenant\", \"X-Request-Source\"]\nrequired_query = [\"page\"]"));
        foreach (bool h2 in new[] { false, true })
        {
            AssertProblem(await CurlAsync(h2, Url(proxy, "/orders?page=1"), null), 400, "X-Tenant");
            AssertProblem(await CurlAsync(h2, Url(proxy, "/orders?page=1"), null, "-H", "x-tenant: a"), 400, "X-Request-Source");
            // "pages" and "xpage" are other parameters; the value may be empty.
            AssertProblem(await CurlAsync(h2, Url(proxy, "/orders?pages=1&xpage=2"), null, "-H", "X-Tenant: a", "-H", "X-Request-Source: b"), 400, "page");
            Assert.Equal(h2 ? 1 : 0, upstream.Requests.Count);
            Assert.Equal(200, (await CurlAsync(h2, Url(proxy, "/orders?a=1&page="), null, "-H", "X-Tenant: a", "-H", "X-Request-Source: b")).Status);
        }
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_Content_Length_over_max_body_is_413_before_the_body_is_read()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "max_body = \"1KiB\""));
        foreach (bool h2 in new[] { false, true })
        {
            AssertProblem(await CurlAsync(h2, Url(proxy), null, "--data-binary", new string('a', 1025)), 413, "body");
            Assert.Empty(upstream.Requests);
        }
        // Over HTTP/1.1 with Expect: 100-continue the client is refused before it sends a byte of its body.
        using var client = new TcpClient();
        await client.ConnectAsync(proxy.EndPoint());
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
        var answer = await ReadAnswerAsync(stream);
        Assert.StartsWith("HTTP/1.1 413 ", answer);
        Assert.DoesNotContain("100 Continue", answer);
        Assert.Contains("application/problem+json", answer);
        // Exactly max_body is fine, on both protocols.
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal(200, (await CurlAsync(h2, Url(proxy), null, "--data-binary", new string('a', 1024))).Status);
        }
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_chunked_body_that_grows_past_max_body_while_streaming_is_413_and_the_origin_sees_nothing()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "max_body = \"4KiB\""));
        // Raw HTTP/1.1: 3 KiB then 2 KiB of chunks, and the body never ends: the 413 comes once the cap is passed.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(proxy.EndPoint());
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("POST /orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"C00\r\n{new string('a', 3072)}\r\n"));
            await stream.FlushAsync();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"800\r\n{new string('b', 2048)}\r\n"));
            var answer = await ReadAnswerAsync(stream);
            Assert.StartsWith("HTTP/1.1 413 ", answer);
            Assert.Contains("Connection: close", answer);
            Assert.Contains("\"field\":\"body\"", answer);
        }
        // curl streaming from stdin: chunked over HTTP/1.1, DATA frames without content-length over HTTP/2.
        foreach (bool h2 in new[] { false, true })
        {
            var r = await Processes.RunAsync("curl", ["-s", "--max-time", "20", h2 ? "--http2-prior-knowledge" : "--http1.1", "-X", "POST",
                "-T", "-", "-o", "/dev/null", "-w", "%{http_code}", Url(proxy)], TimeSpan.FromSeconds(30), stdin: new string('z', 6000));
            Assert.True(r.StdOut == "413", $"h2={h2}: {r.StdOut} exit {r.ExitCode} {r.StdErr}");
        }
        Assert.Empty(upstream.Requests);
        Assert.Equal(0, upstream.Connections);

        // Within the cap a chunked body is forwarded whole, with a Content-Length.
        foreach (bool h2 in new[] { false, true })
        {
            var r = await Processes.RunAsync("curl", ["-s", "--max-time", "20", h2 ? "--http2-prior-knowledge" : "--http1.1", "-X", "POST",
                "-T", "-", "-o", "/dev/null", "-w", "%{http_code}", Url(proxy)], TimeSpan.FromSeconds(30), stdin: new string('y', 4096));
            Assert.Equal("200", r.StdOut);
            var seen = upstream.Requests[^1];
            Assert.Equal("4096", seen.Header("Content-Length"));
            Assert.Null(seen.Header("Transfer-Encoding"));
            Assert.Equal(new string('y', 4096), Encoding.ASCII.GetString(seen.Body));
        }
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_is_415_and_one_that_does_not_parse_is_400()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, SchemaPolicy()));
        foreach (bool h2 in new[] { false, true })
        {
            AssertProblem(await CurlAsync(h2, Url(proxy), null, "-H", "Content-Type: text/plain", "--data-binary", "{}"), 415, "content-type");
            AssertProblem(await CurlAsync(h2, Url(proxy), null, "--data-binary", "{}"), 415, "content-type"); // curl says form-urlencoded
            AssertProblem(await CurlAsync(h2, Url(proxy), null, "-H", "Content-Type: application/json", "-H", "Content-Encoding: gzip",
                "--data-binary", "{}"), 415, "content-encoding");
            var broken = AssertProblem(await CurlAsync(h2, Url(proxy), null, "-H", "Content-Type: application/json",
                "--data-binary", "{\"name\": \"a\",\n \"qty\": }"), 400, "");
            Assert.Contains("line 2", broken.GetProperty("detail").GetString());
            AssertProblem(await CurlAsync(h2, Url(proxy), null, "-H", "Content-Type: application/json", "--data-binary", "{\"name\":\"a\",\"qty\":1} {}"), 400, "");
            AssertProblem(await CurlAsync(h2, Url(proxy), null, "-H", "Content-Type: application/json", "--data-binary", "{\"name\":\"a\",\"name\":\"b\",\"qty\":1}"), 400, "");
            // A POST with no body at all, on a route with a schema.
            AssertProblem(await CurlAsync(h2, Url(proxy), null, "-X", "POST", "-H", "Content-Type: application/json"), 400, "body");
        }
        Assert.Empty(upstream.Requests);
        // A GET carries nothing to check.
        Assert.Equal(200, (await CurlAsync(false, Url(proxy), null)).Status);
    }

    [Fact]
    public async Task A_schema_failure_is_400_naming_the_field_and_the_keyword_on_both_protocols()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, SchemaPolicy()));
        foreach (bool h2 in new[] { false, true })
        {
            string[] json = ["-H", "Content-Type: application/json; charset=utf-8", "--data-binary"];
            var missing = AssertProblem(await CurlAsync(h2, Url(proxy), null, [.. json, "{\"name\":\"pen\"}"]), 400, "/qty");
            var error = missing.GetProperty("errors")[0];
            Assert.Equal(("/qty", "required"), (error.GetProperty("pointer").GetString(), error.GetProperty("keyword").GetString()));

            var wrongType = AssertProblem(await CurlAsync(h2, Url(proxy), null, [.. json, "{\"name\":\"pen\",\"qty\":\"two\"}"]), 400, "/qty");
            Assert.Equal("type", wrongType.GetProperty("errors")[0].GetProperty("keyword").GetString());
            Assert.Contains("/qty", wrongType.GetProperty("detail").GetString());

            var nested = AssertProblem(await CurlAsync(h2, Url(proxy), null, [.. json, "{\"name\":\"pen\",\"qty\":2,\"tags\":[\"a\",7]}"]), 400, "/tags/1");
            Assert.Equal("type", nested.GetProperty("errors")[0].GetProperty("keyword").GetString());

            // A member name from the client is escaped into the JSON, never pasted: quotes, a newline, a pointer's '/' and '~'.
            var hostile = await CurlAsync(h2, Url(proxy), null, [.. json, "{\"name\":\"pen\",\"qty\":1,\"a\\\"b\\n/c~\":1}"]);
            var problem = AssertProblem(hostile, 400, "/a\"b\n~1c~0");
            Assert.Equal("additionalProperties", problem.GetProperty("errors")[0].GetProperty("keyword").GetString());
        }
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task A_valid_body_reaches_the_origin_byte_for_byte_with_its_Content_Length()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, SchemaPolicy("max_body = \"64KiB\"")));
        // Spacing, member order and escapes as the client wrote them, and a body larger than one read (40 KiB of tags).
        var tags = string.Join(",", Enumerable.Range(0, 4000).Select(i => $"\"t{i:x4}\""));
        var body = "{ \"qty\" : 3,\n  \"name\": \"caf\\u00e9 \\\"x\\\"\", \"tags\": [" + tags + "] }";
        var file = Path.Combine(_dir, "body.json");
        File.WriteAllText(file, body);
        var sent = File.ReadAllBytes(file);
        int expected = 0;
        foreach (bool h2 in new[] { false, true })
        {
            foreach (var framing in new[] { "length", "chunked" })
            {
                string[] args = framing == "length"
                    ? ["-H", "Content-Type: application/vnd.order+json", "--data-binary", "@" + file]
                    : ["-H", "Content-Type: application/json", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file];
                if (h2 && framing == "chunked") continue; // no Transfer-Encoding in HTTP/2; its length-less body is below
                var r = await CurlAsync(h2, Url(proxy), null, args);
                Assert.Equal(200, r.Status);
                expected++;
                var seen = upstream.Requests[^1];
                Assert.Equal(SHA256.HashData(sent), SHA256.HashData(seen.Body));
                Assert.Equal(sent.Length.ToString(), seen.Header("Content-Length"));
                Assert.Null(seen.Header("Transfer-Encoding"));
            }
            // Streamed from stdin: no length known in advance (chunked over HTTP/1.1, DATA frames alone over HTTP/2).
            var streamed = await Processes.RunAsync("curl", ["-s", "--max-time", "20", h2 ? "--http2-prior-knowledge" : "--http1.1", "-X", "POST",
                "-H", "Content-Type: application/json", "-T", "-", "-o", "/dev/null", "-w", "%{http_code}", Url(proxy)], TimeSpan.FromSeconds(30), stdin: body);
            Assert.Equal("200", streamed.StdOut);
            expected++;
            Assert.Equal(SHA256.HashData(sent), SHA256.HashData(upstream.Requests[^1].Body));
            Assert.Equal(sent.Length.ToString(), upstream.Requests[^1].Header("Content-Length"));
        }
        Assert.Equal(expected, upstream.Requests.Count);
    }

    [Fact]
    public async Task Requests_on_one_connection_are_each_judged_and_a_refused_body_keeps_the_connection()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, SchemaPolicy()));
        var file = Path.Combine(_dir, "ok.json");
        File.WriteAllText(file, "{\"name\":\"pen\",\"qty\":1}");
        var bad = Path.Combine(_dir, "bad.json");
        File.WriteAllText(bad, "{\"name\":\"pen\"}");
        // Three requests on one connection (curl reuses it): valid, invalid, valid.
        var r = await Processes.CurlAsync("--http1.1", "-H", "Content-Type: application/json", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
            "--data-binary", "@" + file, Url(proxy, "/a"), "--next", "--http1.1", "-H", "Content-Type: application/json", "-o", "/dev/null",
            "-w", "%{http_code} %{num_connects}\n", "--data-binary", "@" + bad, Url(proxy, "/b"), "--next", "--http1.1", "-H", "Content-Type: application/json",
            "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n", "--data-binary", "@" + file, Url(proxy, "/c"));
        Assert.Equal("200 1\n400 0\n200 0\n", r.StdOut);
        Assert.Equal(["POST /a HTTP/1.1", "POST /c HTTP/1.1"], upstream.Requests.Select(q => q.RequestLine));
    }

    /// <summary>Reads a whole answer (head and Content-Length body) from a raw connection, within a bounded time.</summary>
    private static async Task<string> ReadAnswerAsync(NetworkStream stream)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        while (true)
        {
            int n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0) break;
            received.Write(buffer, 0, n);
            var text = Encoding.UTF8.GetString(received.ToArray());
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0) continue;
            var length = text[..end].Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
            if (length is null || received.Length >= end + 4 + int.Parse(length[15..].Trim())) return text;
        }
        return Encoding.UTF8.GetString(received.ToArray());
    }
}
