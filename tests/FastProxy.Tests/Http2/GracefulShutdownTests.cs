using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Forwarding;
using FastProxy.Http2.Frames;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Http2;

/// <summary>
/// HTTP/2 client connections on a reload (SIGHUP) and a graceful stop: the two-step GOAWAY of RFC 9113 §6.8 (the
/// largest stream id and a PING, then the last stream processed), the streams in flight finish, the connection
/// closes; at the end of shutdown_timeout, the stop's cut reaches the streams' upstream exchanges too.
/// </summary>
public sealed class GracefulShutdownTests
{
    /// <summary>"/slow" answers after <paramref name="slowMs"/>; anything else at once.</summary>
    private static RawUpstream SlowUpstream(int slowMs = 1500) => new(r =>
    {
        if (r.RequestLine.Contains("/slow")) Thread.Sleep(slowMs);
        return RawUpstream.Ok(r.RequestLine.Contains("/slow") ? "finished" : "fast");
    });

    private static string Config(int upstreamPort, string upstreamExtra = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        upstream = "app"

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]
        {{upstreamExtra}}
        """;

    private static async Task<H2RawClient> ConnectAsync(TestProxy proxy)
    {
        var client = new H2RawClient(proxy.Port());
        client.SendPreface();
        Assert.NotNull(await client.ReadUntilAsync(f => f.Type == Http2FrameType.Settings && !f.Ack, maxFrames: 5));
        client.Send(w => Http2FrameWriter.WriteSettingsAck(w));
        Assert.NotNull(await client.ReadUntilAsync(f => f.Type == Http2FrameType.Settings && f.Ack, maxFrames: 5));
        return client;
    }

    /// <summary>Every frame until the proxy closes the connection (bounded by count and by each read's deadline).</summary>
    private static async Task<List<RawFrame>> ReadToCloseAsync(H2RawClient client, int maxFrames = 50)
    {
        var frames = new List<RawFrame>();
        for (int i = 0; i < maxFrames; i++)
        {
            var frame = await client.ReadFrameAsync(TimeSpan.FromSeconds(15));
            if (frame is null) return frames;
            frames.Add(frame);
        }
        throw new InvalidOperationException("the connection was not closed: " + string.Join(", ", frames));
    }

    private static string Body(IEnumerable<RawFrame> frames, int streamId)
        => string.Concat(frames.Where(f => f.Type == Http2FrameType.Data && f.StreamId == streamId).Select(f => Encoding.ASCII.GetString(f.Payload)));

    [Fact]
    public async Task A_reload_sends_two_goaways_serves_the_stream_that_crossed_the_first_and_finishes_the_one_in_flight()
    {
        await using var upstream = SlowUpstream();
        string config = Config(upstream.Port);
        await using var proxy = TestProxy.Start(config);
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/slow"));
        await Wait.UntilAsync(() => upstream.Requests.Count == 1, "the slow request at the upstream");

        proxy.Reload(config);

        // Step one: GOAWAY with the largest id (nothing the client sent is refused yet), and a PING.
        var first = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway, maxFrames: 10);
        Assert.NotNull(first);
        Assert.Equal(Http2ErrorCode.NoError, first.ErrorCode);
        Assert.Equal(int.MaxValue, first.GoAwayLastStreamId);
        var ping = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Ping && !f.Ack, maxFrames: 10);
        Assert.NotNull(ping);

        // A request the client sent before it read the GOAWAY (here: right after) is still processed...
        client.SendHeaders(3, endStream: true, H2RawClient.Get("/fast"));
        // ...and the PING's ACK tells the proxy that nothing else is on its way: the final GOAWAY names stream 3.
        client.Send(w => Http2FrameWriter.WritePing(w, BinaryPrimitives.ReadUInt64BigEndian(ping.Payload), ack: true));

        var frames = await ReadToCloseAsync(client);
        var final = Assert.Single(frames, f => f.Type == Http2FrameType.GoAway);
        Assert.Equal(3, final.GoAwayLastStreamId);
        Assert.Equal(Http2ErrorCode.NoError, final.ErrorCode);
        Assert.Equal("fast", Body(frames, 3));
        Assert.Equal("finished", Body(frames, 1)); // the stream in flight during the reload completed
        Assert.Contains(frames, f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.True(frames.Last(f => f.StreamId == 1).EndStream);
        Assert.DoesNotContain(frames, f => f.Type == Http2FrameType.RstStream);

        // A new connection is served under the new configuration.
        var again = await Processes.CurlAsync("--http2-prior-knowledge", "-w", " %{http_version}", $"http://127.0.0.1:{proxy.Port()}/after");
        Assert.Equal("fast 2", again.StdOut);
    }

    [Fact]
    public async Task Nghttp_request_in_flight_during_a_reload_completes_and_sees_goaway()
    {
        await using var upstream = SlowUpstream();
        string config = Config(upstream.Port);
        await using var proxy = TestProxy.Start(config);
        string url = $"http://127.0.0.1:{proxy.Port()}";

        var nghttp = Processes.RunAsync("nghttp", ["-v", "-s", $"{url}/slow"], TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => upstream.Requests.Count == 1, "the slow request at the upstream");
        proxy.Reload(config);
        var r = await nghttp;

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains(":status: 200", r.StdOut);
        Assert.Contains("finished", r.StdOut);
        Assert.Contains("recv GOAWAY frame", r.StdOut);
        Assert.Contains("last_stream_id=2147483647", r.StdOut);
        Assert.Contains("last_stream_id=1", r.StdOut); // nghttp answered the PING: the final GOAWAY came at once
        Assert.DoesNotContain("RST_STREAM", r.StdOut);

        var again = await Processes.CurlAsync("--http2-prior-knowledge", "-w", " %{http_version}", $"{url}/after");
        Assert.Equal("fast 2", again.StdOut);
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task Nghttp_request_in_flight_during_a_graceful_stop_completes()
    {
        await using var upstream = SlowUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var nghttp = Processes.RunAsync("nghttp", ["-v", $"http://127.0.0.1:{proxy.Port()}/slow"], TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => upstream.Requests.Count == 1, "the slow request at the upstream");
        var stopping = proxy.StopAsync(TimeSpan.FromSeconds(15));
        var r = await nghttp;

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains(":status: 200", r.StdOut);
        Assert.Contains("finished", r.StdOut);
        Assert.Contains("recv GOAWAY frame", r.StdOut);
        Assert.Equal(0, await stopping); // nothing was left to cut
    }

    [Fact]
    public async Task At_the_end_of_shutdown_timeout_the_streams_upstream_exchange_is_cut_too()
    {
        // An upstream that takes the request and never answers; the proxy would wait for it up to response_timeout.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var proxy = TestProxy.Start(Config(port, "response_timeout = \"60s\""));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/never"));

        using var accepted = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var head = new byte[4096];
        int got = await accepted.ReceiveAsync(head, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("GET /never HTTP/1.1", Encoding.ASCII.GetString(head, 0, got));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        int abandoned = await proxy.StopAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(1, abandoned); // the HTTP/2 client connection, cut

        // The upstream sees its connection closed now, not after response_timeout: the stream's exchange was cut.
        int closed;
        try
        {
            closed = await accepted.ReceiveAsync(head, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (SocketException)
        {
            closed = 0; // reset: closed as well
        }
        Assert.Equal(0, closed);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"closed after {clock.Elapsed}");
        // And that exchange has ended (it no longer waits for anything).
        await Wait.UntilAsync(() => CountConnections(proxy) == 0, "every client connection and stream exchange ended");
    }

    private static int CountConnections(TestProxy proxy)
    {
        int count = 0;
        proxy.Host.Services.Heartbeat.ForEach(target =>
        {
            if (target is Http1Connection) Interlocked.Increment(ref count);
        });
        return count;
    }
}
