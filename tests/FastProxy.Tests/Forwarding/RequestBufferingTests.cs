using System.Text;
using FastProxy.Http2.Frames;
using FastProxy.Tests.Http2;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// request_buffering = true on an upstream (nginx's proxy_request_buffering on): a chunked request body is read whole,
/// up to max_body, and reaches the server with a Content-Length, for servers that cannot read chunked bodies. Over
/// max_body it is refused with 413 and nothing reaches the server. The default stays streaming (chunked as sent).
/// HTTP/2 requests without content-length, chunked on their way through, get the same.
/// </summary>
public sealed class RequestBufferingTests
{
    /// <summary>/buffered goes to an upstream with request_buffering, everything else to one without.</summary>
    private static string Config(int port, string maxBody = "1MiB") => $$"""
        [limits]
        max_body = "{{maxBody}}"

        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        upstream = "buffered"
        [routes.match]
        path_prefix = "/buffered"

        [[routes]]
        upstream = "streamed"

        [upstreams.buffered]
        servers = [ { address = "127.0.0.1:{{port}}" } ]
        request_buffering = true

        [upstreams.streamed]
        servers = [ { address = "127.0.0.1:{{port}}" } ]
        """;

    private static byte[] Body(int length)
    {
        var body = new byte[length];
        new Random(length).NextBytes(body);
        return body;
    }

    /// <summary>curl POSTs <paramref name="body"/> with Transfer-Encoding: chunked (as a client that streams would).</summary>
    private static async Task<ProcessResult> CurlChunkedAsync(TestProxy proxy, string path, byte[] body, params string[] extra)
    {
        string file = Path.Combine(Path.GetTempPath(), $"fastproxy-buffering-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, body);
        try
        {
            return await Processes.CurlAsync([.. extra, "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file,
                "-w", "\n%{http_code}", proxy.Url(path).ToString()]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(200_000)] // beyond what the proxy reads before routing (64 KiB): the rest is read by the buffering
    public async Task A_chunked_body_reaches_the_server_with_a_content_length(int length)
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var body = Body(length);

        var r = await CurlChunkedAsync(proxy, "/buffered/upload", body);

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal($"got={length}\n200", r.StdOut);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("POST /buffered/upload HTTP/1.1", seen.RequestLine);
        Assert.Equal(length.ToString(), seen.Header("Content-Length"));
        Assert.Null(seen.Header("Transfer-Encoding"));
        Assert.Equal(body, seen.Body);
        // Byte for byte: the head, then exactly the body, nothing of the chunk framing.
        Assert.Equal([.. Encoding.Latin1.GetBytes(seen.Head), .. body], upstream.ReceivedBytes);
    }

    [Fact]
    public async Task By_default_a_chunked_body_is_streamed_as_it_came()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var body = Body(200_000);

        var r = await CurlChunkedAsync(proxy, "/streamed", body);

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("got=200000\n200", r.StdOut);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("chunked", seen.Header("Transfer-Encoding"));
        Assert.Null(seen.Header("Content-Length"));
        Assert.Equal(body, seen.Body);
    }

    [Fact]
    public async Task A_body_with_a_content_length_is_forwarded_as_before()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var body = Body(150_000);
        string file = Path.Combine(Path.GetTempPath(), $"fastproxy-buffering-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, body);
        try
        {
            var r = await Processes.CurlAsync("--data-binary", "@" + file, "-w", "\n%{http_code}", proxy.Url("/buffered").ToString());
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal("got=150000\n200", r.StdOut);
        }
        finally
        {
            File.Delete(file);
        }
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("150000", seen.Header("Content-Length"));
        Assert.Equal(body, seen.Body);
    }

    [Fact]
    public async Task A_chunked_body_over_max_body_is_refused_with_413_and_nothing_reaches_the_server()
    {
        // Larger than what is read before routing, so that streaming would already have sent the first part.
        await using var upstream = new RawUpstream(parse: false);
        await using var proxy = TestProxy.Start(Config(upstream.Port, maxBody: "100KiB"));
        using var client = new RawClient(proxy.Port());
        var data = Body(150_000);
        var request = new MemoryStream();
        request.Write("POST /buffered HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"u8);
        for (int at = 0; at < data.Length; at += 10_000)
        {
            int size = Math.Min(10_000, data.Length - at);
            request.Write(Encoding.ASCII.GetBytes($"{size:x}\r\n"));
            request.Write(data, at, size);
            request.Write("\r\n"u8);
        }
        request.Write("0\r\n\r\n"u8);

        await Refusal.SendAsync(client, request.ToArray());
        string response = await client.ReadUntilCloseAsync(Refusal.ReadTimeout);

        Refusal.AssertOnlyRefusal(response, 413);
        Refusal.AssertNothingUpstream(upstream);
    }

    [Fact]
    public async Task Trailer_fields_of_a_buffered_body_are_dropped()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new RawClient(proxy.Port());

        client.Send("POST /buffered HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
            + "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n");
        string response = await client.ReadResponseAsync();

        Assert.StartsWith("HTTP/1.1 200 ", response);
        Assert.EndsWith("got=11", response);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("11", seen.Header("Content-Length"));
        Assert.Null(seen.Header("Transfer-Encoding"));
        Assert.Null(seen.Header("Trailer"));
        Assert.Equal("hello world"u8.ToArray(), seen.Body);
        Assert.DoesNotContain("X-Checksum", Encoding.Latin1.GetString(upstream.ReceivedBytes), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_client_that_expects_100_continue_is_told_to_go_on_by_the_proxy()
    {
        // The body is read by the proxy before anything goes to the server, so the go-ahead is the proxy's to give
        // (a server that cannot read chunked bodies would not be asked), and the Expect stops here (nginx does the same).
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new RawClient(proxy.Port());

        client.Send("POST /buffered HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
        string interim = await client.ReadResponseAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n", interim);
        client.Send("4\r\nbody\r\n0\r\n\r\n");
        string response = await client.ReadResponseAsync();

        Assert.StartsWith("HTTP/1.1 200 ", response);
        Assert.EndsWith("got=4", response);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("4", seen.Header("Content-Length"));
        Assert.Null(seen.Header("Expect"));
    }

    [Fact]
    public async Task Pipelined_requests_after_a_buffered_body_are_served_in_order()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"{r.RequestLine.Split(' ')[1]}:{Encoding.ASCII.GetString(r.Body)}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new RawClient(proxy.Port());

        client.Send("POST /buffered/1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n0\r\n\r\n"
            + "POST /buffered/2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
            + "GET /buffered/3 HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.EndsWith("/buffered/1:one", await client.ReadResponseAsync());
        Assert.EndsWith("/buffered/2:two", await client.ReadResponseAsync());
        Assert.EndsWith("/buffered/3:", await client.ReadResponseAsync());
        Assert.All(upstream.Requests.Take(2), r => Assert.Equal("3", r.Header("Content-Length")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // with trailers, which are dropped
    public async Task An_http2_request_without_content_length_reaches_the_server_with_one(bool trailers)
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new H2RawClient(proxy.Port());
        client.SendPreface();
        var first = Body(3000);
        var second = Body(5000);

        client.SendHeaders(1, endStream: false, [.. H2RawClient.Get("/buffered/h2", method: "POST"), ("content-type", "application/octet-stream")]);
        client.SendData(1, first, endStream: false);
        client.SendData(1, second, endStream: !trailers);
        if (trailers) client.SendHeaders(1, endStream: true, ("x-checksum", "abc"));

        var headers = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.NotNull(headers);
        Assert.Contains(":status: 200", client.Decode(headers.Payload));
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("8000", seen.Header("Content-Length"));
        Assert.Null(seen.Header("Transfer-Encoding"));
        Assert.Equal([.. first, .. second], seen.Body);
        Assert.DoesNotContain("x-checksum", Encoding.Latin1.GetString(upstream.ReceivedBytes), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Curl_over_http2_without_content_length_and_beyond_the_window_reaches_the_server_with_one()
    {
        // curl over HTTP/2 turns -H "Transfer-Encoding: chunked" into DATA frames without content-length; 300 KB is
        // several times the stream's 64 KiB window, so the buffering must keep opening it as it reads.
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var body = Body(300_000);

        var r = await CurlChunkedAsync(proxy, "/buffered/h2", body, "--http2-prior-knowledge");

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("got=300000\n200", r.StdOut);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("300000", seen.Header("Content-Length"));
        Assert.Null(seen.Header("Transfer-Encoding"));
        Assert.Equal(body, seen.Body);
    }

    [Fact]
    public async Task An_http2_request_over_max_body_gets_413_and_nothing_reaches_the_server()
    {
        await using var upstream = new RawUpstream(parse: false);
        await using var proxy = TestProxy.Start(Config(upstream.Port, maxBody: "10KiB"));
        using var client = new H2RawClient(proxy.Port());
        client.SendPreface();

        client.SendHeaders(1, endStream: false, H2RawClient.Get("/buffered/h2", method: "POST"));
        client.SendData(1, Body(5000), endStream: false);
        // A streaming proxy sends the head on at once: give it the chance (bounded) before the body goes over max_body.
        try
        {
            await Wait.UntilAsync(() => upstream.ReceivedBytes.Length > 0, "anything at the server", TimeSpan.FromMilliseconds(500));
        }
        catch (TimeoutException)
        {
            // Nothing went on: as it should be.
        }
        client.SendData(1, Body(5000), endStream: false);
        client.SendData(1, Body(5000), endStream: true);

        var headers = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.NotNull(headers);
        Assert.Contains(":status: 413", client.Decode(headers.Payload));
        Refusal.AssertNothingUpstream(upstream);
    }
}
