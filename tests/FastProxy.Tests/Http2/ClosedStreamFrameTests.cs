using FastProxy.Http2.Frames;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Http2;

/// <summary>
/// Frames on streams that are not open, answered as RFC 9113 §5.1 rules for each state, over loopback with the raw
/// client: after the client reset the stream (a stream error STREAM_CLOSED, the connection goes on), after both
/// sides ended it (a connection error STREAM_CLOSED), after we reset it (ignored, its octets still counted in the
/// connection window), and on an idle stream (a connection error PROTOCOL_ERROR). Each exchange ends with a PING:
/// the proxy handles frames in order, so what it answered to the frames before comes before the PING's ACK, and
/// "nothing" is seen as the ACK coming first, with no waiting on a clock.
/// </summary>
public sealed class ClosedStreamFrameTests
{
    /// <summary>"/hello" answered by the proxy itself (a POST's body is read first, so a stream can be held open).</summary>
    private const string Config = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "hello"
        respond = { status = 200, body = "hello" }
        [routes.match]
        path = "/hello"
        """;

    private const ulong Marker = 0x5A5A_0001;

    private static async Task<H2RawClient> ConnectAsync(TestProxy proxy)
    {
        var client = new H2RawClient(proxy.Port());
        await client.HandshakeAsync();
        return client;
    }

    /// <summary>Sends a PING and returns every frame that comes before its ACK, or before the connection closes.</summary>
    private static async Task<(List<RawFrame> Frames, bool Acked)> UntilPingAckAsync(H2RawClient client)
    {
        client.Send(w => Http2FrameWriter.WritePing(w, Marker, ack: false));
        var frames = new List<RawFrame>();
        for (int i = 0; i < 1000; i++)
        {
            var frame = await client.ReadFrameAsync();
            if (frame is null) return (frames, false);
            if (frame.Type == Http2FrameType.Ping && frame.Ack) return (frames, true);
            frames.Add(frame);
        }
        throw new InvalidOperationException("no PING ACK in 1000 frames");
    }

    /// <summary>A GET on a new stream is answered: the connection is still usable.</summary>
    private static async Task AssertServedAsync(H2RawClient client, int streamId)
    {
        client.SendHeaders(streamId, endStream: true, H2RawClient.Get("/hello"));
        var headers = await client.ReadUntilAsync(f => f.StreamId == streamId || f.Type == Http2FrameType.GoAway);
        Assert.NotNull(headers);
        Assert.Equal(Http2FrameType.Headers, headers.Type);
        Assert.Contains(":status: 200", client.Decode(headers.Payload));
    }

    private static (string, string)[] Post(string contentLength) => [.. H2RawClient.Get("/hello", method: "POST"), ("content-length", contentLength)];

    [Fact]
    public async Task Data_after_the_client_reset_the_stream_is_a_stream_error_stream_closed_and_the_connection_goes_on()
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: false, Post("5"));
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));
        // §5.1 closed: "An endpoint that receives any frame other than PRIORITY after receiving a RST_STREAM MUST treat
        // that as a stream error of type STREAM_CLOSED."
        client.SendData(1, "ab"u8.ToArray(), endStream: false);
        // Our RST_STREAM makes it a stream we reset: its next frames are ignored, not answered one by one.
        client.SendData(1, "cde"u8.ToArray(), endStream: true);

        var (frames, acked) = await UntilPingAckAsync(client);
        Assert.True(acked, "closed: " + string.Join(", ", frames));
        var reset = Assert.Single(frames, f => f.Type == Http2FrameType.RstStream);
        Assert.Equal(1, reset.StreamId);
        Assert.Equal(Http2ErrorCode.StreamClosed, reset.ErrorCode);
        Assert.DoesNotContain(frames, f => f.Type == Http2FrameType.GoAway);
        await AssertServedAsync(client, 3);
    }

    [Fact]
    public async Task A_window_update_after_the_client_reset_the_stream_is_a_stream_error_stream_closed()
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: false, Post("5"));
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));
        client.Send(w => Http2FrameWriter.WriteWindowUpdate(w, 1, 100));
        // A second RST_STREAM is never answered with one (§5.4.2).
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));

        var (frames, acked) = await UntilPingAckAsync(client);
        Assert.True(acked, "closed: " + string.Join(", ", frames));
        var reset = Assert.Single(frames, f => f.Type == Http2FrameType.RstStream);
        Assert.Equal(Http2ErrorCode.StreamClosed, reset.ErrorCode);
        await AssertServedAsync(client, 3);
    }

    [Fact]
    public async Task Data_after_both_sides_ended_the_stream_is_a_goaway_stream_closed()
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/hello"));
        var last = await client.ReadUntilAsync(f => f.StreamId == 1 && f.EndStream);
        Assert.NotNull(last);

        // §5.1 closed: "an endpoint that receives any frames after receiving a frame with the END_STREAM flag set MUST
        // treat that as a connection error of type STREAM_CLOSED".
        client.SendData(1, "late"u8.ToArray(), endStream: false);
        var (frames, acked) = await UntilPingAckAsync(client);
        Assert.False(acked, "the PING was answered: the DATA was ignored (" + string.Join(", ", frames) + ")");
        var goAway = Assert.Single(frames, f => f.Type == Http2FrameType.GoAway);
        Assert.Equal(Http2ErrorCode.StreamClosed, goAway.ErrorCode);
        Assert.Equal(1, goAway.GoAwayLastStreamId);
    }

    /// <summary>Stream 1 announces 3 octets and sends 7: the proxy resets it (PROTOCOL_ERROR).</summary>
    private static async Task<H2RawClient> ResetByProxyAsync(TestProxy proxy)
    {
        var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: false, Post("3"));
        client.SendData(1, "toolong"u8.ToArray(), endStream: false);
        var reset = await client.ReadUntilAsync(f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
        Assert.NotNull(reset);
        Assert.Equal(Http2FrameType.RstStream, reset.Type);
        Assert.Equal(Http2ErrorCode.ProtocolError, reset.ErrorCode);
        return client;
    }

    [Fact]
    public async Task Data_after_the_proxy_reset_the_stream_is_ignored_and_its_octets_counted_in_the_connection_window()
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = await ResetByProxyAsync(proxy);

        // What the client had sent before it saw our RST_STREAM: §5.1 "MUST ignore", but DATA still counts against
        // the connection window (§6.9), so it must be given back: 40 frames of 16 KiB are over half of our 1 MiB
        // window, which is when a WINDOW_UPDATE is due.
        var chunk = new byte[16 * 1024];
        for (int i = 0; i < 40; i++) client.SendData(1, chunk, endStream: false);
        client.Send(w => Http2FrameWriter.WriteWindowUpdate(w, 1, 1000));

        var (frames, acked) = await UntilPingAckAsync(client);
        Assert.True(acked, "closed: " + string.Join(", ", frames));
        Assert.DoesNotContain(frames, f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
        long credit = frames.Where(f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 0)
            .Sum(f => (long)(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(f.Payload) & 0x7FFF_FFFF));
        Assert.True(credit >= 512 * 1024, $"connection window given back: {credit} of {40 * chunk.Length} ignored octets");
        await AssertServedAsync(client, 3);
    }

    [Fact]
    public async Task Trailers_after_the_proxy_reset_the_stream_are_ignored_and_the_connection_goes_on()
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = await ResetByProxyAsync(proxy);
        // A client streaming a body with trailers may have sent them before it saw our RST_STREAM: ignored (§5.1),
        // their block decoded all the same (the next request's HPACK state depends on it).
        client.SendHeaders(1, endStream: true, ("x-checksum", "abc"));

        var (frames, acked) = await UntilPingAckAsync(client);
        Assert.True(acked, "closed: " + string.Join(", ", frames));
        Assert.DoesNotContain(frames, f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
        await AssertServedAsync(client, 3);
    }

    [Theory]
    [InlineData(2)] // even: a stream only the server could open, and it opens none
    [InlineData(7)] // above the last stream the client opened
    public async Task Data_on_an_idle_stream_is_a_goaway_protocol_error(int streamId)
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/hello"));
        client.SendHeaders(3, endStream: true, H2RawClient.Get("/hello"));
        var ended = new HashSet<int>();
        // The two responses may come in either order.
        Assert.NotNull(await client.ReadUntilAsync(f => f.EndStream && ended.Add(f.StreamId) && ended.Count == 2));
        Assert.Equal([1, 3], ended.Order());

        // §5.1 idle: "Receiving any frame other than HEADERS or PRIORITY on a stream in this state MUST be treated as
        // a connection error of type PROTOCOL_ERROR."
        client.SendData(streamId, "x"u8.ToArray(), endStream: false);
        var (frames, acked) = await UntilPingAckAsync(client);
        Assert.False(acked, "the PING was answered: the DATA was ignored (" + string.Join(", ", frames) + ")");
        var goAway = Assert.Single(frames, f => f.Type == Http2FrameType.GoAway);
        Assert.Equal(Http2ErrorCode.ProtocolError, goAway.ErrorCode);
        Assert.Equal(3, goAway.GoAwayLastStreamId);
    }

    [Fact]
    public async Task Data_on_a_stream_the_client_skipped_is_a_stream_error_stream_closed()
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = await ConnectAsync(proxy);
        // Opening 5 closes 1 and 3, never used (§5.1.1): DATA on them is on a closed stream (§6.1: STREAM_CLOSED).
        client.SendHeaders(5, endStream: true, H2RawClient.Get("/hello"));
        Assert.NotNull(await client.ReadUntilAsync(f => f.StreamId == 5 && f.EndStream));
        client.SendData(3, "x"u8.ToArray(), endStream: false);

        var (frames, acked) = await UntilPingAckAsync(client);
        Assert.True(acked, "closed: " + string.Join(", ", frames));
        var reset = Assert.Single(frames, f => f.Type == Http2FrameType.RstStream);
        Assert.Equal(3, reset.StreamId);
        Assert.Equal(Http2ErrorCode.StreamClosed, reset.ErrorCode);
        await AssertServedAsync(client, 7);
    }
}
