using System.Text;
using FastProxy.Http2.Frames;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Http2;

/// <summary>
/// Response trailers through the proxy: an HTTP/1.1 upstream's chunked trailer section reaches an h2c client as a
/// last HEADERS frame with END_STREAM (RFC 9113 §8.1), and an HTTP/1.1 client as the same bytes; gRPC's
/// Trailers-Only form stays one HEADERS frame; TE: trailers reaches the upstream; oversized trailer sections fail
/// the response instead of passing.
/// </summary>
public sealed class ProxyTrailerTests
{
    private static string Config(int upstreamPort) => TestProxy.SimpleConfig([upstreamPort]);

    /// <summary>A chunked response: "hello" then "world", and a trailer section with fields of every kind.</summary>
    private const string ChunkedWithTrailers =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: Grpc-Status, X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "5\r\nhello\r\n5;ext=1\r\nworld\r\n0\r\n" +
        "Grpc-Status: 0\r\nGrpc-Message: all\t good \r\nX-Checksum: abc\r\n" +
        // Fields that must not be trailers in HTTP/2 (connection-specific, §8.2.2) or at all (RFC 9110 §6.5.1).
        "Connection: x-hop\r\nTransfer-Encoding: chunked\r\nContent-Length: 10\r\nContent-Type: text/html\r\nSet-Cookie: a=b\r\n" +
        "\r\n";

    private static async Task<H2RawClient> ConnectAsync(TestProxy proxy)
    {
        var client = new H2RawClient(proxy.Port());
        client.SendPreface();
        client.Send(w => Http2FrameWriter.WriteSettingsAck(w));
        Assert.NotNull(await client.ReadUntilAsync(f => f.Type == Http2FrameType.Settings && f.Ack, maxFrames: 5));
        return client;
    }

    /// <summary>The frames of stream 1 up to and including the one that ends it (or its reset).</summary>
    private static async Task<List<RawFrame>> ReadStreamAsync(H2RawClient client, int streamId = 1)
    {
        var frames = new List<RawFrame>();
        for (int i = 0; i < 200; i++)
        {
            var frame = await client.ReadFrameAsync();
            Assert.NotNull(frame);
            if (frame.StreamId != streamId) continue;
            frames.Add(frame);
            if (frame.EndStream || frame.Type == Http2FrameType.RstStream) return frames;
        }
        throw new InvalidOperationException("the stream did not end within 200 frames");
    }

    [Fact]
    public async Task Chunked_trailers_reach_an_h2_client_as_a_last_headers_frame_after_all_data()
    {
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(ChunkedWithTrailers));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, [.. H2RawClient.Get("/t"), ("te", "trailers")]);

        var frames = await ReadStreamAsync(client);
        Assert.Equal(Http2FrameType.Headers, frames[0].Type);
        Assert.False(frames[0].EndStream);
        var head = client.Decode(frames[0].Payload);
        Assert.Contains(":status: 200", head);
        Assert.DoesNotContain(head, f => f.StartsWith("trailer:") || f.StartsWith("transfer-encoding:"));

        // DATA frames with the body, none with END_STREAM; then the trailers, which end the stream.
        var data = frames.Skip(1).Take(frames.Count - 2).ToList();
        Assert.All(data, f => Assert.Equal(Http2FrameType.Data, f.Type));
        Assert.All(data, f => Assert.False(f.EndStream));
        Assert.Equal("helloworld", Encoding.ASCII.GetString(data.SelectMany(f => f.Payload).ToArray()));
        var last = frames[^1];
        Assert.Equal(Http2FrameType.Headers, last.Type);
        Assert.True(last.EndStream);
        Assert.Equal(["grpc-status: 0", "grpc-message: all\t good", "x-checksum: abc"], client.Decode(last.Payload));

        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("trailers", seen.Header("TE"));
        Assert.Equal("te", seen.Header("Connection"));
    }

    [Fact]
    public async Task Nghttp_prints_the_trailers_as_a_headers_frame_that_ends_the_stream()
    {
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(ChunkedWithTrailers));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var r = await Processes.RunAsync("nghttp", ["-v", "-H", "te: trailers", $"http://127.0.0.1:{proxy.Port()}/t"], TimeSpan.FromSeconds(30));

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        // nghttp prints a received frame's fields before its frame line. Its first stream is 13.
        var lines = r.StdOut.Split('\n');
        int lastData = Array.FindLastIndex(lines, l => l.Contains("recv DATA frame") && l.Contains("stream_id=13>"));
        int lastHeaders = Array.FindLastIndex(lines, l => l.Contains("recv HEADERS frame") && l.Contains("stream_id=13>"));
        Assert.True(lastData > 0 && lastHeaders > lastData, "no HEADERS frame after the DATA:\n" + r.StdOut);
        Assert.Contains("END_STREAM", lines[lastHeaders + 1]);
        Assert.DoesNotContain(lines[..lastData], l => l.Contains("recv DATA frame") && l.Contains("flags=0x01"));
        var trailers = lines[(lastData + 1)..lastHeaders]
            .Where(l => l.Contains("recv (stream_id=13) "))
            .Select(l => l[(l.IndexOf("recv (stream_id=13) ") + 20)..])
            .ToList();
        Assert.Equal(["grpc-status: 0", "grpc-message: all\t good", "x-checksum: abc"], trailers);
        Assert.Contains("hello", r.StdOut);
        Assert.Contains("world", r.StdOut);
    }

    [Fact]
    public async Task An_http11_client_gets_the_chunked_body_and_its_trailers_byte_for_byte()
    {
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(ChunkedWithTrailers));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new RawClient(proxy.Port());
        client.Send("GET /t HTTP/1.1\r\nHost: a.test\r\nTE: deflate;q=0.5 , Trailers\r\nConnection: close\r\n\r\n");

        string response = await client.ReadUntilCloseAsync();

        string upstreamBody = ChunkedWithTrailers[(ChunkedWithTrailers.IndexOf("\r\n\r\n") + 4)..];
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response);
        Assert.EndsWith("\r\n\r\n" + upstreamBody, response);
        // TE is hop-by-hop: the proxy says "trailers" itself (it passes them), never the client's other codings.
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("trailers", seen.Header("TE"));
        Assert.Equal("te", seen.Header("Connection"));
    }

    [Theory]
    [InlineData("GET /t HTTP/1.1\r\nHost: a.test\r\nTE: deflate\r\nConnection: close\r\n\r\n")]
    [InlineData("GET /t HTTP/1.1\r\nHost: a.test\r\nTE: trailersx, x-trailers\r\nConnection: close\r\n\r\n")]
    [InlineData("GET /t HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")]
    [InlineData("GET /t HTTP/1.0\r\nTE: trailers\r\n\r\n")] // an HTTP/1.0 client gets the body de-chunked, trailers dropped
    public async Task TE_goes_upstream_only_when_the_client_takes_trailers(string request)
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new RawClient(proxy.Port());
        client.Send(request);
        Assert.Contains("200 OK", await client.ReadUntilCloseAsync());
        var seen = Assert.Single(upstream.Requests);
        Assert.Null(seen.Header("TE"));
        Assert.Null(seen.Header("Connection"));
    }

    /// <summary>
    /// gRPC's Trailers-Only response (grpc-status in the head, empty body) must be one HEADERS frame with END_STREAM
    /// even when the empty chunked body arrives after the head, in a later read.
    /// </summary>
    [Fact]
    public async Task A_trailers_only_response_is_one_headers_frame_with_end_stream()
    {
        await using var origin = await KestrelOrigin.StartAsync(app => app.MapPost("/svc/Missing", async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            ctx.Response.Headers["grpc-status"] = "5";
            ctx.Response.Headers["grpc-message"] = "not found";
            await ctx.Response.StartAsync();
            await ctx.Response.Body.FlushAsync();
            await Task.Delay(300); // the head is on its way before the body's end
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, [.. H2RawClient.Get("/svc/Missing", method: "POST"), ("te", "trailers"), ("content-type", "application/grpc")]);

        var frames = await ReadStreamAsync(client);

        var only = Assert.Single(frames);
        Assert.Equal(Http2FrameType.Headers, only.Type);
        Assert.True(only.EndStream);
        var fields = client.Decode(only.Payload);
        Assert.Contains(":status: 200", fields);
        Assert.Contains("grpc-status: 5", fields);
        Assert.Contains("grpc-message: not found", fields);
    }

    [Fact]
    public async Task A_head_with_grpc_status_that_has_a_body_after_all_is_sent_before_the_data()
    {
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nGrpc-Status: 0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-After: 1\r\n\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/x"));

        var frames = await ReadStreamAsync(client);

        Assert.Equal([Http2FrameType.Headers, Http2FrameType.Data, Http2FrameType.Headers], frames.Select(f => f.Type));
        Assert.Contains("grpc-status: 0", client.Decode(frames[0].Payload));
        Assert.False(frames[0].EndStream);
        Assert.Equal("abc", Encoding.ASCII.GetString(frames[1].Payload));
        Assert.Equal(["x-after: 1"], client.Decode(frames[2].Payload));
        Assert.True(frames[2].EndStream);
    }

    [Fact]
    public async Task Trailers_that_http2_may_not_carry_leave_an_empty_data_frame_to_end_the_stream()
    {
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nContent-Length: 2\r\nKeep-Alive: 5\r\n\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/x"));

        var frames = await ReadStreamAsync(client);

        Assert.Equal([Http2FrameType.Headers, Http2FrameType.Data, Http2FrameType.Data], frames.Select(f => f.Type));
        Assert.Empty(frames[2].Payload);
        Assert.True(frames[2].EndStream);
    }

    /// <summary>A trailer section over the response limits (64 KiB, or 256 fields) fails the response, both protocols.</summary>
    [Theory]
    [InlineData("bytes")]
    [InlineData("fields")]
    public async Task Oversized_trailers_fail_the_response_instead_of_passing(string over)
    {
        string trailers = over == "bytes"
            ? "X-Big: " + new string('b', 64 * 1024) + "\r\n"
            : string.Concat(Enumerable.Range(0, 257).Select(i => $"x-{i}: v\r\n"));
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" + trailers + "\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        // HTTP/2: the stream is reset, never ended as if complete.
        using (var client = await ConnectAsync(proxy))
        {
            client.SendHeaders(1, endStream: true, H2RawClient.Get("/x"));
            var frames = await ReadStreamAsync(client);
            Assert.Equal(Http2FrameType.RstStream, frames[^1].Type);
            Assert.Equal(Http2ErrorCode.InternalError, frames[^1].ErrorCode);
            Assert.DoesNotContain(frames, f => f.EndStream);
        }

        // HTTP/1.1: the connection is cut before the section's end, so the body never looks complete.
        using var http1 = new RawClient(proxy.Port());
        http1.Send("GET /x HTTP/1.1\r\nHost: a.test\r\n\r\n");
        string response = await http1.ReadUntilCloseAsync(TimeSpan.FromSeconds(20));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response);
        Assert.False(response.EndsWith("\r\n\r\n"), "the response ended as if complete");
    }

    /// <summary>The same sections just under the limits pass whole.</summary>
    [Fact]
    public async Task Trailers_at_the_limits_pass()
    {
        string trailers = string.Concat(Enumerable.Range(0, 256).Select(i => $"x-{i}: v\r\n"));
        await using var upstream = new RawUpstream(_ => Encoding.ASCII.GetBytes(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" + trailers + "\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/x"));

        var frames = await ReadStreamAsync(client);

        Assert.Equal(Http2FrameType.Headers, frames[^1].Type);
        Assert.True(frames[^1].EndStream);
        Assert.Equal(256, client.Decode(frames[^1].Payload).Count);
    }
}
