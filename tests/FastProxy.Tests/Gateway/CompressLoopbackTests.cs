using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.JsonBodyLoopbackTests;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// compress end to end: curl over HTTP/1.1 and h2c (prior knowledge) through a real proxy to a scripted origin that
/// answers with a Content-Length, chunked in pieces, or read to the close; the bodies curl saves (it does not decode
/// them: no --compressed) go through the real `gzip -d` and `brotli -d` and must come back byte for byte.
/// </summary>
public sealed class CompressLoopbackTests
{
    internal const string Policy = """
        [policies.c]
        type = "compress"
        """;

    internal static string Config(int upstreamPort, string policy = Policy) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["c"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        {{policy}}
        """;

    /// <summary>Deterministic text that compresses (but not to nothing): numbered lines with varying words.</summary>
    internal static byte[] Text(int size)
    {
        var builder = new StringBuilder(size + 64);
        string[] words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
        for (int i = 0; builder.Length < size; i++)
        {
            builder.Append("line ").Append(i).Append(": ").Append(words[i % 8]).Append(' ').Append(words[(i * 7) % 8]).Append(' ')
                .Append((i * 2654435761u % 100000).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        return Encoding.ASCII.GetBytes(builder.ToString(0, size));
    }

    /// <summary>
    /// The origin: GET /{cl|chunked|close}/{size}[?type=...] answers <see cref="Text"/> of that size, framed so;
    /// headers to add come from the request's x-answer-header fields (name: value).
    /// </summary>
    internal static ScriptedOrigin Origin() => new(async (request, connection) =>
    {
        var target = request.RequestLine.Split(' ')[1];
        var query = target.Contains('?') ? target[(target.IndexOf('?') + 1)..] : "";
        var parts = target.Split('?')[0].Split('/', StringSplitOptions.RemoveEmptyEntries);
        var framing = parts[0];
        int size = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = Text(size);
        string type = query.StartsWith("type=", StringComparison.Ordinal) ? Uri.UnescapeDataString(query[5..]) : "text/plain; charset=utf-8";
        var extra = new StringBuilder();
        foreach (var line in request.HeaderLines.Where(l => l.StartsWith("x-answer-header:", StringComparison.OrdinalIgnoreCase)))
            extra.Append(line[(line.IndexOf(':') + 1)..].Trim()).Append("\r\n");
        string status = extra.ToString().Contains("Content-Range", StringComparison.OrdinalIgnoreCase) ? "206 Partial Content" : "200 OK";
        bool head = request.RequestLine.StartsWith("HEAD ", StringComparison.Ordinal);
        switch (framing)
        {
            case "cl":
                await connection.SendAsync($"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nContent-Length: {size}\r\n{extra}\r\n");
                if (!head) await connection.SendAsync(body);
                break;
            case "chunked":
                await connection.SendAsync($"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nTransfer-Encoding: chunked\r\n{extra}\r\n");
                if (head) break;
                for (int i = 0; i < body.Length; i += 100_000)
                {
                    int n = Math.Min(100_000, body.Length - i);
                    await connection.SendAsync([.. Encoding.ASCII.GetBytes($"{n:x}\r\n"), .. body.AsSpan(i, n), (byte)'\r', (byte)'\n']);
                }
                await connection.SendAsync("0\r\n\r\n");
                break;
            default:
                await connection.SendAsync($"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nConnection: close\r\n{extra}\r\n");
                if (!head) await connection.SendAsync(body);
                connection.Close();
                break;
        }
    });

    /// <summary>The real decoders: gzip -d, brotli -d or zstd -d.</summary>
    internal static async Task<byte[]> DecodeAsync(string encoding, byte[] encoded)
    {
        string input = Path.GetTempFileName(), output = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(input, encoded);
            string tool = encoding switch { "br" => "brotli", "zstd" => "zstd -q", _ => "gzip" };
            var result = await Processes.RunAsync("sh", ["-c", $"{tool} -dc < '{input}' > '{output}'"], TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, $"{tool} -d failed ({result.ExitCode}): {result.StdErr}");
            return await File.ReadAllBytesAsync(output);
        }
        finally
        {
            File.Delete(input);
            File.Delete(output);
        }
    }

    public static TheoryData<bool, string, string> Framings()
    {
        var data = new TheoryData<bool, string, string>();
        foreach (bool h2 in new[] { false, true })
            foreach (var encoding in new[] { "gzip", "br" })
                foreach (var framing in new[] { "cl", "chunked", "close" })
                    data.Add(h2, encoding, framing);
        return data;
    }

    [Theory]
    [MemberData(nameof(Framings))]
    public async Task Small_and_multi_MB_bodies_round_trip_through_the_real_decoders(bool h2, string encoding, string framing)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        foreach (int size in new[] { 5_000, 3 * 1024 * 1024 + 17 })
        {
            var (status, headers, body) = await CurlAsync(proxy, h2, $"/{framing}/{size}", "-H", $"Accept-Encoding: {encoding}");

            Assert.EndsWith("200" + (h2 ? "" : " OK"), status);
            Assert.Equal([encoding], Values(headers, "content-encoding"));
            Assert.Empty(Values(headers, "content-length"));
            Assert.Equal(["Accept-Encoding"], Values(headers, "vary"));
            if (!h2) Assert.Equal(["chunked"], Values(headers, "transfer-encoding"));
            Assert.True(body.Length < size / 2, $"{body.Length} bytes for {size}: not compressed");
            Assert.Equal(Text(size), await DecodeAsync(encoding, body));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_accept_encoding_the_body_passes_as_it_came_with_vary(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (status, headers, body) = await CurlAsync(proxy, h2, "/cl/20000");

        Assert.EndsWith("200" + (h2 ? "" : " OK"), status);
        Assert.Empty(Values(headers, "content-encoding"));
        Assert.Equal(["20000"], Values(headers, "content-length"));
        Assert.Equal(["Accept-Encoding"], Values(headers, "vary"));
        Assert.Equal(Text(20000), body);
    }

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate, br, zstd", "br")]   // the server's preference on equal weights
    [InlineData("br;q=0, gzip", "gzip")]            // q=0 refuses
    [InlineData("br;q=0.5, gzip", "gzip")]          // the client's higher weight wins
    [InlineData("gzip;q=0.5, br;q=0.9", "br")]
    [InlineData("GZIP;Q=1.0", "gzip")]
    [InlineData("x-gzip", "gzip")]
    [InlineData("*", "br")]
    [InlineData("*;q=0.1, br;q=0", "gzip")]
    [InlineData("gzip;q=0", "")]
    [InlineData("*;q=0", "")]
    [InlineData("identity", "")]
    [InlineData("deflate", "")]
    [InlineData("gzip;q=2", "")]                    // a malformed weight: the item is ignored
    public async Task The_encoding_follows_the_q_values(string acceptEncoding, string expected)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (_, headers, body) = await CurlAsync(proxy, false, "/cl/8000", "-H", $"Accept-Encoding: {acceptEncoding}");

        if (expected.Length == 0)
        {
            Assert.Empty(Values(headers, "content-encoding"));
            Assert.Equal(Text(8000), body);
        }
        else
        {
            Assert.Equal([expected], Values(headers, "content-encoding"));
            Assert.Equal(Text(8000), await DecodeAsync(expected, body));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_known_length_under_min_size_is_left_alone_an_unknown_one_is_compressed(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port, Policy + "\nmin_size = \"2KiB\""));

        var (_, small, smallBody) = await CurlAsync(proxy, h2, "/cl/2047", "-H", "Accept-Encoding: gzip");
        var (_, exact, exactBody) = await CurlAsync(proxy, h2, "/cl/2048", "-H", "Accept-Encoding: gzip");
        var (_, unknown, unknownBody) = await CurlAsync(proxy, h2, "/chunked/500", "-H", "Accept-Encoding: gzip");

        Assert.Empty(Values(small, "content-encoding"));
        Assert.Equal(["2047"], Values(small, "content-length"));
        Assert.Empty(Values(small, "vary"));
        Assert.Equal(Text(2047), smallBody);
        Assert.Equal(["gzip"], Values(exact, "content-encoding"));
        Assert.Equal(Text(2048), await DecodeAsync("gzip", exactBody));
        Assert.Equal(["gzip"], Values(unknown, "content-encoding"));
        Assert.Equal(Text(500), await DecodeAsync("gzip", unknownBody));
    }

    [Theory]
    [InlineData("text/html", true)]
    [InlineData("TEXT/CSS;charset=utf-8", true)]
    [InlineData("application/json", true)]
    [InlineData("application/javascript", true)]
    [InlineData("image/svg+xml", true)]
    [InlineData("application/wasm", true)]
    [InlineData("image/png", false)]
    [InlineData("application/octet-stream", false)]
    [InlineData("application/jsonx", false)]
    [InlineData("text/event-stream", false)]
    [InlineData("application/grpc", false)]
    [InlineData("application/grpc+proto", false)]
    public async Task Only_the_listed_types_are_compressed_never_event_streams_or_grpc(string type, bool compressed)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (_, headers, body) = await CurlAsync(proxy, false, $"/cl/6000?type={Uri.EscapeDataString(type)}", "-H", "Accept-Encoding: gzip, br");

        Assert.Equal(compressed ? ["br"] : [], Values(headers, "content-encoding"));
        Assert.Equal(Text(6000), compressed ? await DecodeAsync("br", body) : body);
    }

    [Fact]
    public async Task Configured_types_replace_the_default_list_and_a_wildcard_matches_a_whole_type()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port, Policy + "\ntypes = [\"application/x-ndjson\", \"font/*\"]\nencodings = [\"gzip\"]"));

        var (_, html, _) = await CurlAsync(proxy, false, "/cl/6000?type=text/html", "-H", "Accept-Encoding: gzip, br");
        var (_, ndjson, ndjsonBody) = await CurlAsync(proxy, false, "/cl/6000?type=application/x-ndjson", "-H", "Accept-Encoding: gzip, br");
        var (_, font, _) = await CurlAsync(proxy, false, "/cl/6000?type=font/woff2", "-H", "Accept-Encoding: gzip, br");

        Assert.Empty(Values(html, "content-encoding"));
        Assert.Equal(["gzip"], Values(ndjson, "content-encoding"));
        Assert.Equal(Text(6000), await DecodeAsync("gzip", ndjsonBody));
        Assert.Equal(["gzip"], Values(font, "content-encoding"));
    }

    [Theory]
    [InlineData(false, "Content-Encoding: gzip")]
    [InlineData(true, "Content-Encoding: gzip")]
    [InlineData(false, "Content-Range: bytes 0-5999/10000")]
    [InlineData(true, "Content-Range: bytes 0-5999/10000")]
    [InlineData(false, "Cache-Control: public, no-transform")]
    [InlineData(true, "Cache-Control: no-transform")]
    public async Task Encoded_ranges_and_no_transform_responses_are_left_untouched(bool h2, string header)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (_, headers, body) = await CurlAsync(proxy, h2, "/chunked/6000", "-H", "Accept-Encoding: gzip, br", "-H", "x-answer-header: " + header);

        Assert.Equal(header.StartsWith("Content-Encoding", StringComparison.Ordinal) ? ["gzip"] : [], Values(headers, "content-encoding"));
        Assert.Equal(Text(6000), body); // as the origin sent it (gzip-labelled text is passed as is too)
        Assert.Empty(Values(headers, "vary"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Head_gets_no_content_encoding(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        // (curl -I writes the head to its output too: only the head is looked at.)
        var (_, headers, _) = await CurlAsync(proxy, h2, "/cl/6000", "-I", "-H", "Accept-Encoding: gzip, br");

        Assert.Empty(Values(headers, "content-encoding"));
        Assert.Equal(["6000"], Values(headers, "content-length"));
        Assert.Single(origin.Requests, r => r.RequestLine.StartsWith("HEAD ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Vary_is_merged_and_a_strong_etag_made_weak(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (_, merged, _) = await CurlAsync(proxy, h2, "/cl/6000", "-H", "Accept-Encoding: gzip",
            "-H", "x-answer-header: Vary: Origin", "-H", "x-answer-header: ETag: \"v1\"", "-H", "x-answer-header: Accept-Ranges: bytes");
        var (_, weak, _) = await CurlAsync(proxy, h2, "/cl/6000", "-H", "Accept-Encoding: gzip",
            "-H", "x-answer-header: Vary: accept-encoding, Cookie", "-H", "x-answer-header: ETag: W/\"v2\"");
        var (_, plain, _) = await CurlAsync(proxy, h2, "/cl/6000",
            "-H", "x-answer-header: Vary: Origin", "-H", "x-answer-header: ETag: \"v1\"");

        Assert.Equal(["Origin, Accept-Encoding"], Values(merged, "vary"));
        Assert.Equal(["W/\"v1\""], Values(merged, "etag"));
        Assert.Empty(Values(merged, "accept-ranges"));
        Assert.Equal(["accept-encoding, Cookie"], Values(weak, "vary"));
        Assert.Equal(["W/\"v2\""], Values(weak, "etag"));
        // Not compressed for this client: the identity body keeps its strong ETag; Vary still names Accept-Encoding.
        Assert.Equal(["Origin, Accept-Encoding"], Values(plain, "vary"));
        Assert.Equal(["\"v1\""], Values(plain, "etag"));
    }

    [Fact]
    public async Task An_http10_client_gets_the_identity_body_with_its_length()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (status, headers, body) = await CurlAsync(proxy, false, "/chunked/6000", "--http1.0", "-H", "Accept-Encoding: gzip");

        Assert.Equal("HTTP/1.1 200 OK", status);
        Assert.Empty(Values(headers, "content-encoding"));
        Assert.Equal(Text(6000), body);
    }

    [Fact]
    public async Task Compressed_responses_keep_the_client_and_upstream_connections()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        string bodyFile = Path.GetTempFileName();
        try
        {
            // One curl, three requests on one connection: the chunked compressed responses end cleanly.
            var url = proxy.Url("/cl/30000").ToString();
            var result = await Processes.CurlAsync(["--http1.1", "-H", "Accept-Encoding: gzip", "-w", "%{num_connects}\\n", "-o", "/dev/null", url, "-o", "/dev/null", url, "-o", bodyFile, url]);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal(["1", "0", "0"], result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(Text(30000), await DecodeAsync("gzip", await File.ReadAllBytesAsync(bodyFile)));
            Assert.Equal(1, origin.Connections);
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }
}
