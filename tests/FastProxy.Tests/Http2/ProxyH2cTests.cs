using System.Buffers;
using System.Diagnostics;
using System.Text;
using FastProxy.Http2.Frames;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Http2;

/// <summary>
/// The proxy serving h2c with prior knowledge on an http listener, end to end: curl, nghttp and h2load against a
/// real proxy in front of real loopback upstreams, and a raw-socket client for the connection-level rules.
/// </summary>
public sealed class ProxyH2cTests
{
    private const string RespondRoutes = """
        [[routes]]
        name = "hello"
        respond = { status = 200, body = "hello" }
        [routes.match]
        path = "/hello"

        [[routes]]
        name = "api"
        respond = { status = 200, body = "api-host" }
        [routes.match]
        host = "api.example.test"

        """;

    /// <summary>One listener "web", the respond routes above, and everything else to upstream "app".</summary>
    private static string Config(int upstreamPort, string extraTop = "") => $$"""
        {{extraTop}}
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        {{RespondRoutes}}
        [[routes]]
        name = "app"
        upstream = "app"
        [routes.match]
        path_prefix = "/"

        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{upstreamPort}}" } ]
        """;

    private static string H2(TestProxy proxy, string path) => $"http://127.0.0.1:{proxy.Port()}{path}";

    [Fact]
    public async Task Curl_get_is_forwarded_as_http11_and_answered_over_h2()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok("from-upstream", "X-Up: yes\r\nConnection: keep-alive\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var r = await Processes.CurlAsync("--http2-prior-knowledge", "-i", "-H", "x-test: one", "-H", "cookie: a=1", "-H", "cookie: b=2",
            "-w", "\nversion=%{http_version}", H2(proxy, "/path/to?q=1"));

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.StartsWith("HTTP/2 200", r.StdOut);
        Assert.Contains("x-up: yes", r.StdOut);
        Assert.DoesNotContain("connection:", r.StdOut, StringComparison.OrdinalIgnoreCase); // §8.2.2
        Assert.Contains("\r\n\r\nfrom-upstream", r.StdOut);
        Assert.EndsWith("version=2", r.StdOut);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("GET /path/to?q=1 HTTP/1.1", seen.RequestLine);
        Assert.Equal($"127.0.0.1:{proxy.Port()}", seen.Header("Host"));
        Assert.Equal("one", seen.Header("x-test"));
        Assert.Equal("a=1; b=2", seen.Header("cookie")); // §8.2.3: joined for HTTP/1.1
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task Curl_post_body_larger_than_the_window_reaches_the_upstream_whole()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length} sum={r.Body.Sum(b => b)}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var body = new byte[300_000];
        new Random(5).NextBytes(body);
        string file = Path.Combine(Path.GetTempPath(), $"fastproxy-h2c-post-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, body);
        try
        {
            var r = await Processes.CurlAsync("--http2-prior-knowledge", "--data-binary", "@" + file, H2(proxy, "/upload"));
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal($"got=300000 sum={body.Sum(b => b)}", r.StdOut);
            var seen = Assert.Single(upstream.Requests);
            Assert.Equal("POST /upload HTTP/1.1", seen.RequestLine);
            Assert.Equal("300000", seen.Header("content-length"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Curl_downloads_a_response_larger_than_the_initial_window(bool chunked)
    {
        var payload = new byte[1_000_000];
        new Random(7).NextBytes(payload);
        await using var upstream = new RawUpstream(_ => chunked ? Chunked(payload, 70_000) : [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {payload.Length}\r\n\r\n"), .. payload]);
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        string file = Path.Combine(Path.GetTempPath(), $"fastproxy-h2c-get-{Guid.NewGuid():N}");
        try
        {
            var r = await Processes.CurlAsync("--http2-prior-knowledge", "-o", file, "-w", "%{http_code} %{size_download}", H2(proxy, "/big"));
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal("200 1000000", r.StdOut);
            Assert.Equal(payload, await File.ReadAllBytesAsync(file));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static byte[] Chunked(byte[] payload, int chunk)
    {
        var ms = new MemoryStream();
        ms.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"u8);
        for (int at = 0; at < payload.Length; at += chunk)
        {
            int n = Math.Min(chunk, payload.Length - at);
            ms.Write(Encoding.ASCII.GetBytes($"{n:x}\r\n"));
            ms.Write(payload, at, n);
            ms.Write("\r\n"u8);
        }
        ms.Write("0\r\n\r\n"u8);
        return ms.ToArray();
    }

    [Fact]
    public async Task Respond_routes_404_and_routing_by_authority_work_over_h2()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            {{RespondRoutes}}
            """);
        int port = proxy.Port();

        var hello = await Processes.CurlAsync("--http2-prior-knowledge", "-w", " %{http_code} %{http_version}", H2(proxy, "/hello"));
        Assert.Equal("hello 200 2", hello.StdOut);
        var missing = await Processes.CurlAsync("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", H2(proxy, "/nowhere"));
        Assert.Equal("404 2", missing.StdOut);
        // :authority is what the host match sees (curl turns the URL's host into :authority).
        var api = await Processes.CurlAsync("--http2-prior-knowledge", "--resolve", $"api.example.test:{port}:127.0.0.1",
            "-w", " %{http_code}", $"http://api.example.test:{port}/anything");
        Assert.Equal("api-host 200", api.StdOut);
        var head = await Processes.CurlAsync("--http2-prior-knowledge", "-I", H2(proxy, "/hello"));
        Assert.StartsWith("HTTP/2 200", head.StdOut);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Nghttp_concurrent_streams_each_use_their_own_upstream_connection()
    {
        // Each response waits 600 ms at the origin (asynchronously): served one after another, 6 streams would take
        // 3.6 s, and an HTTP/1.1 upstream connection carries one request at a time, so overlap means several connections.
        int inFlight = 0, maxInFlight = 0;
        await using var origin = await KestrelOrigin.StartAsync(app => app.MapGet("/{name}", async ctx =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen) { }
            await Task.Delay(600);
            Interlocked.Decrement(ref inFlight);
            await ctx.Response.WriteAsync("stream-answer-" + ctx.Request.Path.Value![1..] + ";");
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        string[] urls = Enumerable.Range(1, 6).Select(i => H2(proxy, $"/s{i}")).ToArray();

        var clock = Stopwatch.StartNew();
        var r = await Processes.RunAsync("nghttp", [.. urls], TimeSpan.FromSeconds(30));
        clock.Stop();

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        for (int i = 1; i <= 6; i++) Assert.Contains($"stream-answer-s{i};", r.StdOut);
        Assert.True(maxInFlight >= 3, $"at most {maxInFlight} requests at the origin at once: streams were not concurrent");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3.6), $"took {clock.Elapsed}: as long as one after another");
    }

    [Fact]
    public async Task H2load_many_streams_over_few_connections_all_succeed()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok("x" + new string('y', 1000)));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        var r = await Processes.RunAsync("h2load", ["-n", "400", "-c", "4", "-m", "10", H2(proxy, "/load")], TimeSpan.FromSeconds(60));

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("400 succeeded, 0 failed, 0 errored", r.StdOut);
        Assert.Contains("status codes: 400 2xx", r.StdOut);
        Assert.Equal(400, upstream.Requests.Count);
    }

    [Fact]
    public async Task Http11_requests_starting_with_P_are_still_http11()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"got={r.Body.Length}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var r = await Processes.CurlAsync("--http1.1", "-X", "PUT", "--data-binary", "abc", "-w", " %{http_version}", H2(proxy, "/p"));
        Assert.Equal("got=3 1.1", r.StdOut);
        var pri = await Processes.CurlAsync("--http1.1", "-X", "PRI", "-o", "/dev/null", "-w", "%{http_code}", H2(proxy, "/p"));
        Assert.Equal("200", pri.StdOut); // "PRI /p HTTP/1.1" is not the preface: an HTTP/1.1 request with an odd method
    }

    // ---- Raw frames: the connection-level rules ----

    private static Task<H2RawClient> ConnectAsync(TestProxy proxy, List<RawFrame>? seen = null) => ConnectAsync(proxy.Port(), seen);

    private static async Task<H2RawClient> ConnectAsync(int port, List<RawFrame>? seen = null)
    {
        var client = new H2RawClient(port);
        client.SendPreface();
        // Our SETTINGS, a WINDOW_UPDATE for the connection, and the ACK of the client's SETTINGS.
        var settings = await client.ReadFrameAsync();
        Assert.NotNull(settings);
        Assert.Equal(Http2FrameType.Settings, settings.Type);
        Assert.False(settings.Ack);
        seen?.Add(settings);
        client.Send(w => Http2FrameWriter.WriteSettingsAck(w));
        var ack = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Settings && f.Ack, maxFrames: 5);
        Assert.NotNull(ack);
        return client;
    }

    [Fact]
    public async Task Preface_settings_exchange_and_ping_ack()
    {
        await using var proxy = TestProxy.Start(Config(1));
        var seen = new List<RawFrame>();
        using var client = await ConnectAsync(proxy, seen);

        var settings = new Dictionary<int, uint>();
        var p = seen[0].Payload;
        for (int i = 0; i + 6 <= p.Length; i += 6) settings[(p[i] << 8) | p[i + 1]] = (uint)((p[i + 2] << 24) | (p[i + 3] << 16) | (p[i + 4] << 8) | p[i + 5]);
        Assert.Equal(100u, settings[(int)Http2SettingsParameter.MaxConcurrentStreams]);
        Assert.Equal(65_535u, settings[(int)Http2SettingsParameter.InitialWindowSize]);
        Assert.Equal(16_384u, settings[(int)Http2SettingsParameter.MaxFrameSize]);
        Assert.True(settings[(int)Http2SettingsParameter.MaxHeaderListSize] >= 16 * 1024);

        client.Send(w => Http2FrameWriter.WritePing(w, 0x0102030405060708, ack: false));
        var pong = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Ping, maxFrames: 5);
        Assert.NotNull(pong);
        Assert.True(pong.Ack);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, pong.Payload);
    }

    [Fact]
    public async Task A_first_frame_other_than_settings_is_a_goaway_protocol_error()
    {
        await using var proxy = TestProxy.Start(Config(1));
        using var client = new H2RawClient(proxy.Port());
        client.Send(Http2Preface.ClientPreface);
        client.Send(w => Http2FrameWriter.WritePing(w, 1, ack: false));
        var goAway = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway, maxFrames: 5);
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.ProtocolError, goAway.ErrorCode);
        Assert.Null(await client.ReadUntilAsync(_ => false, maxFrames: 10)); // then the connection closes
    }

    [Fact]
    public async Task A_connection_error_names_the_last_stream_processed()
    {
        await using var proxy = TestProxy.Start(Config(1));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/hello"));
        var headers = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.NotNull(headers);
        Assert.Contains(":status: 200", client.Decode(headers.Payload));
        // DATA on stream 0 is a connection error PROTOCOL_ERROR (§6.1).
        client.Send(w => Http2FrameWriter.WriteData(w, 0, "x"u8, endStream: false));
        var goAway = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway);
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.ProtocolError, goAway.ErrorCode);
        Assert.Equal(1, goAway.GoAwayLastStreamId);
    }

    [Fact]
    public async Task Responses_of_streams_answered_together_leave_in_shared_sends()
    {
        // 100 requests in one write: their responses become ready in the same moment, and the proxy must not make one
        // send per frame (200 frames: HEADERS and DATA per stream) but gather them (Http2Connection.Pump: AfterWrite).
        // Counted where it happens: strace on the AOT binary counts its send system calls during the burst.
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"

            {{RespondRoutes}}
            """, out string configPath);
        string trace = Path.GetTempFileName();
        try
        {
            await proxy.WaitForPortAsync(port);
            using var client = await ConnectAsync(port);
            const int streams = 100;
            var sends = await CountSendsAsync(proxy.Id, trace, async () =>
            {
                client.Send(w =>
                {
                    for (int i = 0; i < streams; i++)
                        Http2FrameWriter.WriteHeaders(w, 1 + 2 * i, client.EncodeBlock(H2RawClient.Get("/hello")), endStream: true, endHeaders: true);
                });
                var ended = new HashSet<int>();
                var bodies = new Dictionary<int, string>();
                for (int frames = 0; ended.Count < streams && frames < 10 * streams; frames++)
                {
                    var frame = await client.ReadFrameAsync();
                    Assert.NotNull(frame);
                    Assert.NotEqual(Http2FrameType.RstStream, frame.Type);
                    Assert.NotEqual(Http2FrameType.GoAway, frame.Type);
                    if (frame.Type == Http2FrameType.Headers) Assert.Contains(":status: 200", client.Decode(frame.Payload));
                    if (frame.Type == Http2FrameType.Data) bodies[frame.StreamId] = bodies.GetValueOrDefault(frame.StreamId) + Encoding.ASCII.GetString(frame.Payload);
                    if (frame.EndStream) Assert.True(ended.Add(frame.StreamId));
                }
                Assert.Equal(streams, ended.Count);
                Assert.Equal(streams, bodies.Count);
                Assert.All(bodies.Values, b => Assert.Equal("hello", b));
            });
            // One send per frame would be 200; gathered, a handful (seen: 1 to 4).
            Assert.True(sends < streams / 4, $"{sends} send calls for {2 * streams} response frames");
        }
        finally
        {
            File.Delete(configPath);
            File.Delete(trace);
        }
    }

    /// <summary>
    /// The send-like system calls (send, sendto, sendmsg, write, writev) process <paramref name="pid"/> makes, all
    /// threads, while <paramref name="during"/> runs: strace -c attached before, interrupted after.
    /// </summary>
    private static async Task<long> CountSendsAsync(int pid, string output, Func<Task> during)
    {
        var psi = new ProcessStartInfo("strace", ["-f", "-c", "-e", "trace=sendto,sendmsg,write,writev", "-o", output, "-p", pid.ToString()])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var strace = Process.Start(psi)!;
        try
        {
            // "strace: Process N attached with M threads" once every thread is traced.
            using var attach = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            string? line;
            while ((line = await strace.StandardError.ReadLineAsync(attach.Token)) is not null && !line.Contains("attached")) { }
            Assert.True(line is not null, "strace did not attach");
            _ = strace.StandardError.ReadToEndAsync();
            await during();
        }
        finally
        {
            // strace writes its table on SIGINT.
            await Processes.RunAsync("kill", ["-INT", strace.Id.ToString()]);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await strace.WaitForExitAsync(exit.Token);
        }
        long calls = 0;
        foreach (var row in File.ReadAllLines(output))
        {
            // % time, seconds, usecs/call, calls, [errors,] syscall
            var m = System.Text.RegularExpressions.Regex.Match(row, @"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(sendto|sendmsg|write|writev)\s*$");
            if (m.Success) calls += long.Parse(m.Groups[1].Value);
        }
        return calls;
    }

    [Fact]
    public async Task Streams_over_max_concurrent_streams_are_refused()
    {
        await using var proxy = TestProxy.Start(Config(1));
        using var client = await ConnectAsync(proxy);
        // 100 streams held open: each announces a body it never sends, so its exchange waits for it.
        for (int i = 0; i < 100; i++)
        {
            client.SendHeaders(1 + 2 * i, endStream: false, [.. H2RawClient.Get("/hello", method: "POST"), ("content-length", "5")]);
        }
        client.SendHeaders(201, endStream: true, H2RawClient.Get("/hello"));
        var refused = await client.ReadUntilAsync(f => f.Type == Http2FrameType.RstStream);
        Assert.NotNull(refused);
        Assert.Equal(201, refused.StreamId);
        Assert.Equal(Http2ErrorCode.RefusedStream, refused.ErrorCode);

        // Finishing one frees a slot: the next stream is served.
        client.SendData(1, "abcde"u8.ToArray(), endStream: true);
        // The slot is free once stream 1 has ended (its last frame carries END_STREAM), not at its HEADERS.
        var first = await client.ReadUntilAsync(f => f.StreamId == 1 && f.EndStream);
        Assert.NotNull(first);
        client.SendHeaders(203, endStream: true, H2RawClient.Get("/hello"));
        var next = await client.ReadUntilAsync(f => f.StreamId == 203 && f.Type is Http2FrameType.Headers or Http2FrameType.RstStream);
        Assert.NotNull(next);
        Assert.Equal(Http2FrameType.Headers, next.Type);
    }

    [Fact]
    public async Task A_malformed_request_is_reset_and_never_forwarded()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, [.. H2RawClient.Get("/x"), ("X-Upper", "no")]); // §8.2.1: uppercase name
        var reset = await client.ReadUntilAsync(f => f.Type == Http2FrameType.RstStream);
        Assert.NotNull(reset);
        Assert.Equal(Http2ErrorCode.ProtocolError, reset.ErrorCode);
        // The connection goes on.
        client.SendHeaders(3, endStream: true, H2RawClient.Get("/x"));
        var ok = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 3);
        Assert.NotNull(ok);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task A_body_without_content_length_goes_upstream_chunked_and_trailers_follow()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"body={Encoding.ASCII.GetString(r.Body)}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: false, [.. H2RawClient.Get("/c", method: "POST")]);
        client.SendData(1, "hello "u8.ToArray(), endStream: false);
        client.SendData(1, "world"u8.ToArray(), endStream: false);
        client.SendHeaders(1, endStream: true, ("x-checksum", "abc"));
        var headers = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.NotNull(headers);
        Assert.Contains(":status: 200", client.Decode(headers.Payload));
        var data = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 1);
        Assert.Equal("body=hello world", Encoding.ASCII.GetString(data!.Payload));
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("chunked", seen.Header("transfer-encoding"));
        Assert.Contains("x-checksum: abc\r\n", Encoding.ASCII.GetString(upstream.ReceivedBytes));
    }

    [Fact]
    public async Task Data_beyond_content_length_is_a_stream_error()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: false, [.. H2RawClient.Get("/c", method: "POST"), ("content-length", "3")]);
        client.SendData(1, "toolong"u8.ToArray(), endStream: true);
        var reset = await client.ReadUntilAsync(f => f.Type == Http2FrameType.RstStream && f.StreamId == 1);
        Assert.NotNull(reset);
        Assert.Equal(Http2ErrorCode.ProtocolError, reset.ErrorCode);
    }

    [Fact]
    public async Task A_continuation_flood_is_a_goaway_enhance_your_calm()
    {
        await using var proxy = TestProxy.Start(Config(1));
        using var client = await ConnectAsync(proxy);
        var block = client.EncodeBlock(H2RawClient.Get("/hello"));
        client.Send(w => Http2FrameWriter.WriteHeaders(w, 1, block, endStream: true, endHeaders: false));
        // Empty CONTINUATIONs, each 9 octets: 256 KiB of them is the bound.
        var empty = new byte[9 * 1000];
        for (int i = 0; i < 1000; i++) { empty[9 * i + 3] = (byte)Http2FrameType.Continuation; empty[9 * i + 8] = 1; }
        RawFrame? goAway = null;
        for (int round = 0; round < 40 && goAway is null; round++)
        {
            try { client.Send(empty); } catch (System.Net.Sockets.SocketException) { break; }
        }
        goAway = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway);
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, goAway.ErrorCode);
    }

    [Fact]
    public async Task An_hpack_bomb_is_a_goaway_compression_error()
    {
        await using var proxy = TestProxy.Start(Config(1));
        using var client = await ConnectAsync(proxy);
        // One 4,000-octet value, indexed once and then referenced by index 2,000 times: a 30 KB block that would
        // decode to 8 MB. The header list limit stops it.
        var fields = new List<(string, string)>(H2RawClient.Get("/hello"));
        var encoder = new FastProxy.Http2.HPack.HPackEncoder { UseHuffman = false };
        var block = new byte[64 * 1024];
        int written = 0;
        encoder.BeginBlock(block, ref written);
        foreach (var (n, v) in fields) encoder.TryEncode(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v), FastProxy.Http2.HPack.HPackIndexing.Without, block, ref written);
        var big = Encoding.ASCII.GetBytes(new string('b', 4000));
        for (int i = 0; i < 2000; i++)
        {
            Assert.True(encoder.TryEncode("x-bomb"u8, big, FastProxy.Http2.HPack.HPackIndexing.Incremental, block, ref written));
        }
        client.Send(w => Http2FrameWriter.WriteFieldBlock(w, 1, block.AsSpan(0, written), endStream: true, 16_384));
        var goAway = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway);
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.CompressionError, goAway.ErrorCode);
    }

    [Fact]
    public async Task Stopping_the_proxy_sends_goaway_and_finishes_the_stream_in_flight()
    {
        await using var upstream = new RawUpstream(r =>
        {
            Thread.Sleep(800);
            return RawUpstream.Ok("finished");
        });
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/slow"));
        await Wait.UntilAsync(() => upstream.Requests.Count == 1, "request at the upstream");
        var stopping = proxy.StopAsync(TimeSpan.FromSeconds(10));

        // §6.8 in two steps: GOAWAY with the largest id and a PING, then (this client never answers the PING: after
        // a second) the final GOAWAY with the last stream processed. The stream in flight finishes; then the close.
        var frames = new List<RawFrame>();
        for (int i = 0; i < 20; i++)
        {
            var frame = await client.ReadFrameAsync(TimeSpan.FromSeconds(15));
            if (frame is null) break; // closed once the stream is done and the final GOAWAY is out
            frames.Add(frame);
        }
        var goAways = frames.Where(f => f.Type == Http2FrameType.GoAway).ToList();
        Assert.Equal([int.MaxValue, 1], goAways.Select(f => f.GoAwayLastStreamId));
        Assert.All(goAways, f => Assert.Equal(Http2ErrorCode.NoError, f.ErrorCode));
        Assert.Contains(frames, f => f.Type == Http2FrameType.Ping && !f.Ack);
        var data = Assert.Single(frames, f => f.Type == Http2FrameType.Data && f.StreamId == 1);
        Assert.Equal("finished", Encoding.ASCII.GetString(data.Payload));
        Assert.True(data.EndStream);
        Assert.Equal(0, await stopping);
    }

    [Fact]
    public async Task Response_data_waits_for_the_clients_stream_window()
    {
        var body = new string('w', 1000);
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok(body));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = new H2RawClient(proxy.Port());
        client.Send(Http2Preface.ClientPreface);
        client.Send(w => Http2FrameWriter.WriteSettings(w, [new(Http2SettingsParameter.InitialWindowSize, 10)]));
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/w"));

        var headers = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.NotNull(headers);
        var first = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data);
        Assert.Equal(10, first!.Payload.Length);
        Assert.False(first.EndStream);
        // Nothing more while the window is shut.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReadFrameAsync(TimeSpan.FromMilliseconds(500)));

        client.Send(w => Http2FrameWriter.WriteWindowUpdate(w, 1, 990));
        int received = first.Payload.Length;
        RawFrame? last = null;
        for (int i = 0; i < 10 && received < 1000; i++)
        {
            last = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data);
            received += last!.Payload.Length;
        }
        Assert.Equal(1000, received);
        Assert.True(last!.EndStream);
    }

    /// <summary>
    /// A small response whose body came with its head goes out as frames at once (Http2ResponseWriter.TryAnswer);
    /// one that does not fit the client's window goes through the pump. Both must carry the same fields: hop-by-hop
    /// and connection-specific ones removed (§8.2.2), names lowercased (§8.2.1), :status first, END_STREAM where the
    /// body ends, and a response without a body (HEAD, 204) one HEADERS with END_STREAM.
    /// </summary>
    [Fact]
    public async Task Small_responses_sent_at_once_carry_the_same_fields_as_pumped_ones()
    {
        await using var upstream = new RawUpstream(r => r.RequestLine.StartsWith("GET /none") ? RawUpstream.Status(204)
            : r.RequestLine.StartsWith("HEAD") ? Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n")
            : RawUpstream.Ok("0123456789abcdef", "X-Up: Yes\r\nConnection: keep-alive, x-hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\nSet-Cookie: a=1\r\n"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        async Task<(List<string> Fields, RawFrame Headers, List<RawFrame> Data)> FetchAsync(int window, string path, string method = "GET")
        {
            using var client = new H2RawClient(proxy.Port());
            client.Send(Http2Preface.ClientPreface);
            client.Send(w => Http2FrameWriter.WriteSettings(w, [new(Http2SettingsParameter.InitialWindowSize, (uint)window)]));
            client.SendHeaders(1, endStream: true, H2RawClient.Get(path, method: method));
            var headers = (await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1))!;
            var data = new List<RawFrame>();
            bool ended = headers.EndStream;
            for (int i = 0; i < 20 && !ended; i++)
            {
                var frame = (await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 1))!;
                data.Add(frame);
                ended = frame.EndStream;
                if (!ended) client.Send(w => Http2FrameWriter.WriteWindowUpdate(w, 1, frame.Payload.Length));
            }
            Assert.True(ended, "the response never ended");
            return (client.Decode(headers.Payload), headers, data);
        }

        var direct = await FetchAsync(65_535, "/small");
        var pumped = await FetchAsync(4, "/small"); // 16 octets through a 4-octet window: the pump's path
        // Each response carries its own request's x-request-id (a generated id differs per request): the rest is equal.
        Assert.Single(direct.Fields, f => f.StartsWith("x-request-id: "));
        Assert.Single(pumped.Fields, f => f.StartsWith("x-request-id: "));
        Assert.Equal(pumped.Fields.Where(f => !f.StartsWith("x-request-id: ")), direct.Fields.Where(f => !f.StartsWith("x-request-id: ")));
        Assert.Equal(["200", "Yes"], [direct.Fields[0][":status: ".Length..], direct.Fields.Single(f => f.StartsWith("x-up: "))["x-up: ".Length..]]);
        Assert.DoesNotContain(direct.Fields, f => f.StartsWith("connection") || f.StartsWith("keep-alive") || f.StartsWith("x-hop"));
        Assert.Contains("set-cookie: a=1", direct.Fields);
        Assert.Contains("content-length: 16", direct.Fields);
        Assert.False(direct.Headers.EndStream);
        var only = Assert.Single(direct.Data);
        Assert.True(only.EndStream);
        Assert.Equal("0123456789abcdef", Encoding.ASCII.GetString(only.Payload));
        Assert.Equal(4, pumped.Data.Count);
        Assert.Equal("0123456789abcdef", string.Concat(pumped.Data.Select(f => Encoding.ASCII.GetString(f.Payload))));

        var head = await FetchAsync(65_535, "/small", "HEAD");
        Assert.True(head.Headers.EndStream);
        Assert.Empty(head.Data);
        Assert.Contains("content-length: 16", head.Fields);
        var none = await FetchAsync(65_535, "/none");
        Assert.True(none.Headers.EndStream);
        Assert.Equal(":status: 204", none.Fields[0]);
    }

    [Fact]
    public async Task A_stream_whose_client_never_opens_its_window_is_reset_after_idle_timeout()
    {
        var body = new string('w', 1000);
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok(body));
        await using var proxy = TestProxy.Start(Config(upstream.Port, extraTop: "[limits]\nidle_timeout = \"1s\"\n"));
        using var client = new H2RawClient(proxy.Port());
        client.Send(Http2Preface.ClientPreface);
        client.Send(w => Http2FrameWriter.WriteSettings(w, [new(Http2SettingsParameter.InitialWindowSize, 10)]));
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/w"));

        var first = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 1);
        Assert.Equal(10, first!.Payload.Length);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // No WINDOW_UPDATE ever: the stream (and the upstream exchange behind it) is given up, not held forever.
        var reset = await client.ReadUntilAsync(f => f.Type == Http2FrameType.RstStream || f.Type == Http2FrameType.GoAway);
        Assert.NotNull(reset);
        Assert.Equal(Http2FrameType.RstStream, reset.Type);
        Assert.Equal(1, reset.StreamId);
        Assert.Equal(Http2ErrorCode.FlowControlError, reset.ErrorCode);
        Assert.InRange(clock.ElapsedMilliseconds, 700, 10_000);
    }

    [Fact]
    public async Task An_upstream_that_is_down_is_a_502_over_h2()
    {
        int closedPort;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        await using var proxy = TestProxy.Start(Config(closedPort));
        var r = await Processes.CurlAsync("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", H2(proxy, "/x"));
        Assert.Equal("502 2", r.StdOut);
    }

    [Fact]
    public async Task An_idle_h2_connection_gets_goaway_after_idle_timeout()
    {
        await using var proxy = TestProxy.Start(Config(1, extraTop: "[limits]\nidle_timeout = \"400ms\"\n"));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/hello"));
        Assert.NotNull(await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.EndStream));
        var clock = Stopwatch.StartNew();
        var goAway = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway);
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.NoError, goAway.ErrorCode);
        Assert.Equal(1, goAway.GoAwayLastStreamId);
        Assert.True(clock.Elapsed > TimeSpan.FromMilliseconds(250), $"GOAWAY after {clock.Elapsed}");
        Assert.Null(await client.ReadUntilAsync(_ => false, maxFrames: 10));
    }

    [Fact]
    public async Task Rapid_reset_is_a_goaway_enhance_your_calm()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        // A normal amount of cancelling is fine: 50 streams opened and reset, then a request is still served.
        for (int i = 0; i < 50; i++)
        {
            client.SendHeaders(1 + 2 * i, endStream: false, [.. H2RawClient.Get("/hello", method: "POST"), ("content-length", "5")]);
            client.Send(w => Http2FrameWriter.WriteRstStream(w, 1 + 2 * i, Http2ErrorCode.Cancel));
        }
        client.SendHeaders(101, endStream: true, H2RawClient.Get("/hello"));
        var served = await client.ReadUntilAsync(f => f.StreamId == 101 || f.Type == Http2FrameType.GoAway);
        Assert.Equal(Http2FrameType.Headers, served!.Type);

        // Thousands in a burst are not (the stream limit never binds, each costs a routed request).
        for (int i = 0; i < 2000; i++)
        {
            int id = 103 + 2 * i;
            try
            {
                client.SendHeaders(id, endStream: false, [.. H2RawClient.Get("/hello", method: "POST"), ("content-length", "5")]);
                client.Send(w => Http2FrameWriter.WriteRstStream(w, id, Http2ErrorCode.Cancel));
            }
            catch (System.Net.Sockets.SocketException)
            {
                break; // closed on us: the GOAWAY is already on its way
            }
        }
        var goAway = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway, maxFrames: 5000);
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, goAway.ErrorCode);
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData("ping")]
    [InlineData("settings")]
    [InlineData("empty-data")]
    public async Task A_control_frame_flood_is_a_goaway_enhance_your_calm(string kind)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        // An open stream for the empty DATA frames to go to.
        client.SendHeaders(1, endStream: false, [.. H2RawClient.Get("/hello", method: "POST")]);
        void SendOne(int i)
        {
            switch (kind)
            {
                case "ping": client.Send(w => Http2FrameWriter.WritePing(w, (ulong)i, ack: false)); break;
                case "settings": client.Send(w => Http2FrameWriter.WriteSettings(w, [])); break;
                default: client.Send(w => Http2FrameWriter.WriteData(w, 1, ReadOnlySequence<byte>.Empty, endStream: false)); break;
            }
        }

        // A few are normal: each PING and SETTINGS is acknowledged and the connection goes on.
        for (int i = 0; i < 20; i++) SendOne(i);
        client.SendHeaders(3, endStream: true, H2RawClient.Get("/hello"));
        var served = await client.ReadUntilAsync(f => (f.StreamId == 3 && f.Type == Http2FrameType.Headers) || f.Type == Http2FrameType.GoAway);
        Assert.Equal(Http2FrameType.Headers, served!.Type);

        // Thousands in a burst are a flood.
        for (int i = 0; i < 5000; i++)
        {
            try
            {
                SendOne(i);
            }
            catch (System.Net.Sockets.SocketException)
            {
                break; // closed on us: the GOAWAY is already on its way
            }
        }
        var goAway = await client.ReadUntilAsync(f => f.Type == Http2FrameType.GoAway, maxFrames: 12_000);
        Assert.NotNull(goAway);
        Assert.Equal(Http2ErrorCode.EnhanceYourCalm, goAway.ErrorCode);
    }

    [Fact]
    public async Task The_AOT_binary_serves_h2c_to_curl_and_h2load()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok("aot-" + r.RequestLine.Split(' ')[1]));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"

            [[routes]]
            upstream = "app"

            [upstreams.app]
            servers = ["127.0.0.1:{{upstream.Port}}"]
            """, out string configPath);
        try
        {
            await proxy.WaitForPortAsync(port);
            var r = await Processes.CurlAsync("--http2-prior-knowledge", "-w", " %{http_version}", $"http://127.0.0.1:{port}/native");
            Assert.Equal("aot-/native 2", r.StdOut);
            var load = await Processes.RunAsync("h2load", ["-n", "200", "-c", "2", "-m", "10", $"http://127.0.0.1:{port}/load"], TimeSpan.FromSeconds(60));
            Assert.True(load.ExitCode == 0, load.StdOut + load.StdErr);
            Assert.Contains("200 succeeded, 0 failed, 0 errored", load.StdOut);
        }
        finally
        {
            File.Delete(configPath);
        }
    }

    [Fact]
    public async Task A_stream_cancelled_mid_response_leaves_the_connection_serving()
    {
        var big = new string('m', 2_000_000);
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(r.RequestLine.Contains("/big") ? big : "small"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/big"));
        // The response stops at the 65,535-octet window; the client cancels instead of opening it.
        Assert.NotNull(await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 1));
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));
        // As a real client does (RFC 9113 §6.9), the DATA of the cancelled stream is credited back to the connection:
        // depending on timing the proxy has spent the whole connection window on it before it sees the reset.
        client.Send(w => Http2FrameWriter.WriteWindowUpdate(w, 0, 65_535));

        client.SendHeaders(3, endStream: true, H2RawClient.Get("/small"));
        var data = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 3);
        Assert.NotNull(data);
        Assert.Equal("small", Encoding.ASCII.GetString(data.Payload));
        Assert.True(data.EndStream);
    }

    // ---- A stream's end reaches its upstream request at once ----

    [Fact]
    public async Task A_stream_the_client_resets_cuts_its_upstream_request_at_once()
    {
        // The origin takes the request and never answers: only the proxy can end it (response_timeout is 60 s).
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/slow"));
        await origin.WaitForRequestsAsync(1);
        Assert.Equal(0, origin.ClosedByPeer);

        var clock = Stopwatch.StartNew();
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));
        await Wait.UntilAsync(() => origin.ClosedByPeer == 1, "the cancelled request's upstream connection closed by the proxy", TimeSpan.FromSeconds(5));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"cut after {clock.Elapsed}");

        // The connection goes on serving, and the cancelled request was not tried again on another connection.
        client.SendHeaders(3, endStream: true, H2RawClient.Get("/hello"));
        var data = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 3);
        Assert.NotNull(data);
        Assert.Equal("hello", Encoding.ASCII.GetString(data.Payload));
        await Task.Delay(200);
        Assert.Single(origin.Requests);
        Assert.Equal(1, origin.Connections);
    }

    [Fact]
    public async Task A_client_connection_that_closes_cuts_the_upstream_requests_of_its_streams()
    {
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(Config(origin.Port));
        var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/slow/1"));
        client.SendHeaders(3, endStream: false, [.. H2RawClient.Get("/slow/3", method: "POST"), ("content-length", "4")]);
        client.SendData(3, "body"u8.ToArray(), endStream: true);
        await origin.WaitForRequestsAsync(2);

        client.Dispose();
        await Wait.UntilAsync(() => origin.ClosedByPeer == 2, "both streams' upstream connections closed by the proxy", TimeSpan.FromSeconds(5));
        await Task.Delay(200);
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task A_stream_reset_after_its_response_began_cuts_the_upstream_body()
    {
        // A server-streaming answer: the head and a first piece, then nothing until the proxy hangs up.
        await using var origin = new ScriptedOrigin(async (_, connection) =>
            await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/events"));
        var first = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 1);
        Assert.NotNull(first);
        Assert.Equal("first", Encoding.ASCII.GetString(first.Payload));
        Assert.Equal(0, origin.ClosedByPeer);

        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));
        await Wait.UntilAsync(() => origin.ClosedByPeer == 1, "the stream's upstream connection closed by the proxy", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Stream_records_reused_on_a_connection_carry_nothing_of_the_streams_before()
    {
        // Each request is answered with what reached the upstream; on one connection, one stream after another, so
        // each new stream takes the record the last one left (see Http2Stream.Owners).
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(
            $"{r.RequestLine}|cookie={r.Header("cookie")}|a={r.Header("x-a")}|b={r.Header("x-b")}|te={r.Header("transfer-encoding")}|cl={r.Header("content-length")}|body={Encoding.ASCII.GetString(r.Body)}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        using var client = await ConnectAsync(proxy);

        async Task<string> Answer(int id)
        {
            var data = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == id);
            Assert.NotNull(data);
            return Encoding.ASCII.GetString(data.Payload);
        }

        // 1: a chunked body with trailers, cookies and a field of its own.
        client.SendHeaders(1, endStream: false, [.. H2RawClient.Get("/one", method: "POST"), ("cookie", "a=1"), ("cookie", "b=2"), ("x-a", "first")]);
        client.SendData(1, "body-one"u8.ToArray(), endStream: false);
        client.SendHeaders(1, endStream: true, ("x-sum", "1"));
        Assert.Equal("POST /one HTTP/1.1|cookie=a=1; b=2|a=first|b=|te=chunked|cl=|body=body-one", await Answer(1));

        // 3: a bare GET: no cookie, field, framing or body of stream 1.
        client.SendHeaders(3, endStream: true, [.. H2RawClient.Get("/three"), ("x-b", "third")]);
        Assert.Equal("GET /three HTTP/1.1|cookie=|a=|b=third|te=|cl=|body=", await Answer(3));

        // 5: reset by the client while its upstream request is open; 7 after it is served as itself.
        client.SendHeaders(5, endStream: false, [.. H2RawClient.Get("/five", method: "POST"), ("content-length", "10")]);
        client.SendData(5, "12345"u8.ToArray(), endStream: false);
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 5, Http2ErrorCode.Cancel));
        client.SendHeaders(7, endStream: false, [.. H2RawClient.Get("/seven", method: "PUT"), ("content-length", "5")]);
        client.SendData(7, "seven"u8.ToArray(), endStream: true);
        Assert.Equal("PUT /seven HTTP/1.1|cookie=|a=|b=|te=|cl=5|body=seven", await Answer(7));

        // Many more, a few at a time, each checked against its own path.
        for (int round = 0; round < 20; round++)
        {
            int first = 9 + round * 6;
            for (int i = 0; i < 3; i++) client.SendHeaders(first + 2 * i, endStream: true, H2RawClient.Get($"/r{first + 2 * i}"));
            var answers = new Dictionary<int, string>();
            while (answers.Count < 3)
            {
                var data = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId >= first && f.StreamId < first + 6);
                Assert.NotNull(data);
                answers[data.StreamId] = Encoding.ASCII.GetString(data.Payload);
            }
            for (int i = 0; i < 3; i++)
                Assert.Equal($"GET /r{first + 2 * i} HTTP/1.1|cookie=|a=|b=|te=|cl=|body=", answers[first + 2 * i]);
        }
    }

    [Fact]
    public async Task An_upgrade_to_h2c_is_not_offered_and_the_request_is_answered_in_http11()
    {
        // curl --http2 on an http:// URL asks for Upgrade: h2c (RFC 7540 §3.2, deprecated by RFC 9113 §3.1).
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"upgrade={r.Header("upgrade")} settings={r.Header("http2-settings")}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));
        var r = await Processes.CurlAsync("--http2", "-v", "-w", " version=%{http_version}", H2(proxy, "/up"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("Upgrade: h2c", r.StdErr); // curl did ask
        Assert.EndsWith("version=1.1", r.StdOut);
        Assert.StartsWith("upgrade=", r.StdOut);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Concurrent_streams_on_reused_records_each_get_their_own_answer()
    {
        // Four connections at once, each with rounds of 40 streams in flight: GETs, POSTs with bodies, and streams
        // the client resets at once. Every answer must be its own stream's (path, field and body), however the
        // records were handed from one stream to the next.
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"{r.RequestLine.Split(' ')[1]}|{r.Header("x-id")}|{Encoding.ASCII.GetString(r.Body)}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port));

        async Task Connection(int c)
        {
            using var client = await ConnectAsync(proxy);
            int next = 1;
            for (int round = 0; round < 8; round++)
            {
                var expected = new Dictionary<int, string>();
                var reset = new HashSet<int>();
                for (int i = 0; i < 40; i++, next += 2)
                {
                    int id = next;
                    string path = $"/c{c}/s{id}";
                    if (i % 7 == 3)
                    {
                        client.SendHeaders(id, endStream: true, [.. H2RawClient.Get(path), ("x-id", $"{id}")]);
                        client.Send(w => Http2FrameWriter.WriteRstStream(w, id, Http2ErrorCode.Cancel));
                        reset.Add(id);
                    }
                    else if (i % 5 == 1)
                    {
                        string body = $"body-{c}-{id}";
                        client.SendHeaders(id, endStream: false, [.. H2RawClient.Get(path, method: "POST"), ("x-id", $"{id}"), ("content-length", $"{body.Length}")]);
                        client.SendData(id, Encoding.ASCII.GetBytes(body), endStream: true);
                        expected[id] = $"{path}|{id}|{body}";
                    }
                    else
                    {
                        client.SendHeaders(id, endStream: true, [.. H2RawClient.Get(path), ("x-id", $"{id}")]);
                        expected[id] = $"{path}|{id}|";
                    }
                }
                var seen = new Dictionary<int, string>();
                while (seen.Count < expected.Count)
                {
                    var frame = await client.ReadUntilAsync(f => f.Type is Http2FrameType.Data or Http2FrameType.GoAway);
                    Assert.NotNull(frame);
                    Assert.Equal(Http2FrameType.Data, frame.Type);
                    if (reset.Contains(frame.StreamId)) continue; // answered before the reset arrived
                    Assert.True(expected.ContainsKey(frame.StreamId), $"DATA on stream {frame.StreamId}");
                    seen[frame.StreamId] = Encoding.ASCII.GetString(frame.Payload);
                }
                foreach (var (id, answer) in expected) Assert.Equal(answer, seen[id]);
                // The client's connection window: give back what was read.
                client.Send(w => Http2FrameWriter.WriteWindowUpdate(w, 0, 60_000));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(c => Task.Run(() => Connection(c)))).WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Expect_100_continue_gets_the_servers_100_as_an_interim_headers_frame()
    {
        // Kestrel sends 100 Continue when the application starts reading the body.
        await using var origin = await KestrelOrigin.StartAsync(app => app.MapPost("/up", async ctx =>
            await ctx.Response.WriteAsync("got " + await new StreamReader(ctx.Request.Body).ReadToEndAsync())));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: false, [.. H2RawClient.Get("/up", method: "POST"), ("expect", "100-continue"), ("content-length", "5")]);

        // The client holds its body until the go-ahead, as RFC 9110 §10.1.1 lets it.
        var interim = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.NotNull(interim);
        Assert.False(interim.EndStream);
        Assert.Contains(":status: 100", client.Decode(interim.Payload));

        client.SendData(1, "hello"u8.ToArray(), endStream: true);
        var final = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Headers && f.StreamId == 1);
        Assert.NotNull(final);
        Assert.Contains(":status: 200", client.Decode(final.Payload));
        var data = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 1);
        Assert.Equal("got hello", Encoding.ASCII.GetString(data!.Payload));
    }

    [Fact]
    public async Task Early_hints_from_the_server_reach_the_client_before_the_response()
    {
        await using var origin = new ScriptedOrigin(async (_, connection) => await connection.SendAsync(
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nLink: </style.css>; rel=preload\r\n\r\npage"));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        var r = await Processes.CurlAsync("--http2-prior-knowledge", "-sS", "-i", H2(proxy, "/page"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        // curl -i prints the interim head, then the final one, then the body.
        int hints = r.StdOut.IndexOf("HTTP/2 103", StringComparison.Ordinal);
        int ok = r.StdOut.IndexOf("HTTP/2 200", StringComparison.Ordinal);
        Assert.True(hints >= 0 && ok > hints, r.StdOut);
        Assert.Contains("link: </style.css>; rel=preload", r.StdOut[hints..ok]);
        Assert.EndsWith("page", r.StdOut);
    }

    [Fact]
    public async Task A_request_cut_because_its_stream_was_reset_is_not_the_servers_failure()
    {
        // Outlier detection that ejects on the first failure: a cancelled stream must not count as one.
        await using var origin = new ScriptedOrigin(async (r, connection) =>
        {
            if (!r.RequestLine.Contains("/hang")) await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, extraTop: """
            [upstreams.app.passive]
            consecutive_failures = 1
            eject = "60s"
            max_ejected_percent = 100
            """));
        var server = proxy.Host.Runtime.Upstreams["app"].Servers[0];
        using var client = await ConnectAsync(proxy);
        client.SendHeaders(1, endStream: true, H2RawClient.Get("/hang"));
        await origin.WaitForRequestsAsync(1);
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));
        await Wait.UntilAsync(() => origin.ClosedByPeer == 1, "the cancelled request's upstream connection closed", TimeSpan.FromSeconds(5));
        await Task.Delay(100);

        Assert.True(server.State.IsAvailable, "the server was ejected for a request the client cancelled");
        client.SendHeaders(3, endStream: true, H2RawClient.Get("/next"));
        var data = await client.ReadUntilAsync(f => f.Type == Http2FrameType.Data && f.StreamId == 3);
        Assert.Equal("ok", Encoding.ASCII.GetString(data!.Payload));
    }
}
