using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using FastProxy.Hosting;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tcp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace FastProxy.Tests.Upstreams.Http2;

/// <summary>
/// Upstreams with protocol = "h2c": requests from HTTP/1.1 and HTTP/2 clients go to a real HTTP/2-only server (Kestrel)
/// as HTTP/2 streams, multiplexed over pooled connections, with bodies, trailers and failures end to end.
/// </summary>
public sealed class Http2UpstreamTests
{
    internal static string Config(int port, string extra = "") => TestProxy.SimpleConfig([port], extraUpstream: "protocol = \"h2c\"\n" + extra);

    private static void Describe(WebApplication app) => app.Map("/{**path}", ctx => ctx.Response.WriteAsync(
        $"proto={ctx.Request.Protocol} method={ctx.Request.Method} host={ctx.Request.Host} path={ctx.Request.Path}{ctx.Request.QueryString} " +
        $"xff={ctx.Request.Headers["X-Forwarded-For"]} xfp={ctx.Request.Headers["X-Forwarded-Proto"]} via={ctx.Request.Headers.Via} te={ctx.Request.Headers.TE}"));

    [Fact]
    public async Task An_http1_get_reaches_the_server_as_http2_with_the_forwarding_headers()
    {
        await using var origin = await H2Origin.StartAsync(Describe);
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var r = await Processes.CurlAsync("-i", "-H", "Host: example.test", proxy.Url("/hello?x=1").ToString());

        Assert.StartsWith("HTTP/1.1 200", r.StdOut);
        Assert.Contains("proto=HTTP/2 method=GET host=example.test path=/hello?x=1 xff=127.0.0.1 xfp=http via=1.1 fastproxy te=trailers", r.StdOut);
    }

    [Fact]
    public async Task Post_bodies_with_content_length_and_chunked_arrive_whole()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapPost("/echo", async ctx =>
        {
            var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            await ctx.Response.WriteAsync($"{ctx.Request.Protocol} len={ctx.Request.ContentLength?.ToString() ?? "none"} body={body}");
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        string url = proxy.Url("/echo").ToString();

        var withLength = await Processes.CurlAsync("--data-binary", "hello h2 upstream", url);
        var chunked = await Processes.CurlAsync("-H", "Transfer-Encoding: chunked", "--data-binary", "chunked body here", url);

        Assert.Equal("HTTP/2 len=17 body=hello h2 upstream", withLength.StdOut);
        Assert.Equal("HTTP/2 len=none body=chunked body here", chunked.StdOut);
    }

    [Fact]
    public async Task Ten_mebibytes_stream_both_ways()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapPost("/echo", async ctx =>
        {
            await ctx.Request.Body.CopyToAsync(ctx.Response.Body);
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        var dir = Directory.CreateTempSubdirectory("fastproxy-h2up-");
        try
        {
            var upload = Path.Combine(dir.FullName, "up.bin");
            var download = Path.Combine(dir.FullName, "down.bin");
            var bytes = new byte[10 * 1024 * 1024];
            new Random(5).NextBytes(bytes);
            await File.WriteAllBytesAsync(upload, bytes);

            var r = await Processes.RunAsync("curl", ["-s", "--max-time", "60", "-o", download, "-w", "%{http_code}",
                "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + upload, proxy.Url("/echo").ToString()], TimeSpan.FromSeconds(90));

            Assert.Equal("200", r.StdOut);
            Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await File.ReadAllBytesAsync(download)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_client_that_does_not_read_holds_the_server_back_by_flow_control()
    {
        const int total = 32 * 1024 * 1024;
        long written = 0;
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/big", async ctx =>
        {
            ctx.Response.ContentLength = total;
            var chunk = new byte[64 * 1024];
            for (int sent = 0; sent < total; sent += chunk.Length)
            {
                await ctx.Response.Body.WriteAsync(chunk);
                Interlocked.Add(ref written, chunk.Length);
            }
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port, "response_timeout = \"30s\""));
        using var client = new RawClient(proxy.Port());
        client.Socket.ReceiveBufferSize = 64 * 1024;
        client.Send("GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        // Without flow control the server would have written everything into the proxy by now.
        await Task.Delay(2500);
        long before = Interlocked.Read(ref written);
        Assert.True(before < total / 2, $"the server wrote {before} bytes to a client that read nothing");

        var all = await client.ReadUntilCloseBytesAsync(TimeSpan.FromSeconds(60));
        int headEnd = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(all, 0, 12));
        Assert.Equal(total, all.Length - headEnd);
    }

    [Fact]
    public async Task Response_trailers_reach_an_http1_client_as_the_chunked_trailer_section()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/grpc-like", async ctx =>
        {
            ctx.Response.ContentType = "application/grpc";
            await ctx.Response.WriteAsync("message-bytes");
            ctx.Response.AppendTrailer("grpc-status", "0");
            ctx.Response.AppendTrailer("grpc-message", "all good");
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = new RawClient(proxy.Port());
        client.Send("GET /grpc-like HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        var response = await client.ReadUntilCloseAsync(TimeSpan.FromSeconds(10));

        Assert.StartsWith("HTTP/1.1 200", response);
        Assert.Contains("transfer-encoding: chunked\r\n", response, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\r\nd\r\nmessage-bytes\r\n", response);
        // The last chunk, then the trailer section (in the server's order), then the empty line.
        var trailerSection = response[(response.LastIndexOf("\r\n0\r\n", StringComparison.Ordinal) + 5)..];
        Assert.EndsWith("\r\n\r\n", trailerSection);
        Assert.Equal(["grpc-message: all good", "grpc-status: 0"], trailerSection.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Order());
    }

    [Theory]
    [InlineData("X-Checksum: abc123\r\nGrpc-Timeout: 5S\r\n", "checksum=abc123 timeout=5S")]
    // Only fields HTTP/2 must not carry in trailers: the request ends with an empty DATA instead, no trailer arrives.
    [InlineData("Content-Length: 12\r\nConnection: x\r\n", "checksum= timeout=")]
    [InlineData("", "checksum= timeout=")]
    public async Task Request_trailers_reach_the_server_as_a_trailing_headers_block(string trailerLines, string expected)
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapPost("/upload", async ctx =>
        {
            var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            string trailers = ctx.Request.CheckTrailersAvailable()
                ? $"checksum={ctx.Request.GetTrailer("x-checksum")} timeout={ctx.Request.GetTrailer("grpc-timeout")} cl={ctx.Request.GetTrailer("content-length")}"
                : "none";
            await ctx.Response.WriteAsync($"body={body} {trailers}");
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = new RawClient(proxy.Port());
        client.Send("POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5\r\nhello\r\n6\r\n world\r\n0\r\n" + trailerLines + "\r\n");

        var response = await client.ReadUntilCloseAsync(TimeSpan.FromSeconds(10));

        Assert.StartsWith("HTTP/1.1 200", response);
        // Kestrel reports trailers available once the stream ended, with or without a trailing HEADERS block.
        Assert.Contains($"body=hello world {expected} cl=", response);
    }

    [Fact]
    public async Task An_h2c_client_is_served_through_an_h2c_upstream()
    {
        await using var origin = await H2Origin.StartAsync(Describe);
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var r = await Processes.CurlAsync("-i", "--http2-prior-knowledge", proxy.Url("/both/ways").ToString());

        Assert.StartsWith("HTTP/2 200", r.StdOut);
        Assert.Contains("proto=HTTP/2 method=GET host=127.0.0.1:" + proxy.Port() + " path=/both/ways", r.StdOut);
    }

    [Fact]
    public async Task Concurrent_requests_share_one_connection()
    {
        int inFlight = 0, maxInFlight = 0;
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/{n}", async ctx =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen) { }
            await Task.Delay(400);
            Interlocked.Decrement(ref inFlight);
            await ctx.Response.WriteAsync("n=" + ctx.Request.RouteValues["n"]);
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(30) };

        var clock = Stopwatch.StartNew();
        var bodies = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => http.GetStringAsync(proxy.Url($"/{i}"))));
        clock.Stop();

        for (int i = 0; i < 20; i++) Assert.Equal($"n={i}", bodies[i]);
        Assert.True(maxInFlight >= 10, $"only {maxInFlight} requests at the server at once");
        Assert.True(origin.Connections <= 2, $"{origin.Connections} upstream connections for 20 requests");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6), $"took {clock.Elapsed}: not concurrent");
    }

    [Fact]
    public async Task A_server_allowing_two_streams_per_connection_still_serves_twenty_concurrent_requests()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/{n}", async ctx =>
        {
            await Task.Delay(150);
            await ctx.Response.WriteAsync("n=" + ctx.Request.RouteValues["n"]);
        }), maxStreams: 2);
        await using var proxy = TestProxy.Start(Config(origin.Port, "connect_timeout = \"10s\""));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(30) };

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => http.GetAsync(proxy.Url($"/{i}"))));

        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.OK, responses[i].StatusCode);
            Assert.Equal($"n={i}", await responses[i].Content.ReadAsStringAsync());
        }
        Assert.InRange(origin.Connections, 2, FastProxy.Upstreams.Http2UpstreamPool.MaxConnections);
    }

    [Fact]
    public async Task A_stream_reset_before_the_head_is_a_502_and_after_it_cuts_the_response()
    {
        await using var origin = await H2Origin.StartAsync(app =>
        {
            app.MapGet("/early", ctx => { ctx.Abort(); return Task.CompletedTask; });
            app.MapGet("/late", async ctx =>
            {
                await ctx.Response.WriteAsync(new string('a', 100_000));
                await ctx.Response.Body.FlushAsync();
                await Task.Delay(200);
                ctx.Abort();
            });
        });
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var early = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url("/early").ToString());
        Assert.Equal("502", early.StdOut);

        using var client = new RawClient(proxy.Port());
        client.Send("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
        var clock = Stopwatch.StartNew();
        var response = await client.ReadUntilCloseAsync(TimeSpan.FromSeconds(15));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the cut response was not closed");
        Assert.StartsWith("HTTP/1.1 200", response);
        Assert.DoesNotContain("\r\n0\r\n\r\n", response);
    }

    [Fact]
    public async Task A_graceful_server_shutdown_lets_the_stream_in_flight_finish()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/slow", async ctx =>
        {
            await Task.Delay(1500);
            await ctx.Response.WriteAsync("finished");
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var inFlight = Processes.CurlAsync("-w", " %{http_code}", proxy.Url("/slow").ToString());
        await Task.Delay(500);
        // Kestrel sends GOAWAY and waits for the request it is serving.
        var stopping = origin.StopAsync(TimeSpan.FromSeconds(15));

        Assert.Equal("finished 200", (await inFlight).StdOut);
        await stopping;
        var clock = Stopwatch.StartNew();
        var after = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url("/slow").ToString());
        Assert.Equal("502", after.StdOut);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task An_upstream_speaking_only_http1_is_a_fast_502()
    {
        await using var origin = await H2Origin.StartAsync(Describe, protocols: HttpProtocols.Http1);
        await using var proxy = TestProxy.Start(Config(origin.Port, "connect_timeout = \"10s\""));

        var clock = Stopwatch.StartNew();
        var r = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url("/x").ToString());

        Assert.Equal("502", r.StdOut);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}: waited for connect_timeout instead of seeing HTTP/1.1");
    }

    [Fact]
    public async Task Health_checks_speak_http2_to_an_http2_only_server()
    {
        int checks = 0;
        string? checkProtocol = null;
        await using var origin = await H2Origin.StartAsync(app =>
        {
            app.MapGet("/healthz", ctx =>
            {
                checkProtocol = ctx.Request.Protocol;
                Interlocked.Increment(ref checks);
                return ctx.Response.WriteAsync("ok");
            });
            app.MapGet("/", ctx => ctx.Response.WriteAsync("served"));
        });
        await using var proxy = TestProxy.Start(Config(origin.Port, """
            [upstreams.app.health]
            path = "/healthz"
            interval = "200ms"
            timeout = "2s"
            unhealthy = 1
            healthy = 1
            """));

        await Wait.UntilAsync(() => Volatile.Read(ref checks) >= 3, "three health checks", TimeSpan.FromSeconds(10));
        Assert.Equal("HTTP/2", checkProtocol);
        var r = await Processes.CurlAsync(proxy.Url("/").ToString());
        Assert.Equal("served", r.StdOut);
    }

    [Fact]
    public async Task The_upstream_of_a_server_killed_mid_response_cuts_the_client_off()
    {
        // nghttpd (a second, independent HTTP/2 server) serves a large file; it is killed while the client reads slowly.
        var dir = Directory.CreateTempSubdirectory("fastproxy-nghttpd-");
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        const int size = 16 * 1024 * 1024;
        await File.WriteAllBytesAsync(Path.Combine(dir.FullName, "big.bin"), new byte[size]);
        var nghttpd = Process.Start(new ProcessStartInfo(File.Exists("/usr/sbin/nghttpd") ? "/usr/sbin/nghttpd" : "nghttpd", ["--no-tls", "-a", "127.0.0.1", "-d", dir.FullName, port.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            await Wait.UntilAsync(() =>
            {
                try { using var c = new System.Net.Sockets.TcpClient("127.0.0.1", port); return true; } catch { return false; }
            }, "nghttpd listening", TimeSpan.FromSeconds(10));
            await using var proxy = TestProxy.Start(Config(port));

            Assert.Equal("HTTP/1.1 200", (await Processes.CurlAsync("-i", proxy.Url("/big.bin").ToString(), "-o", "/dev/null", "-w", "HTTP/1.1 %{http_code}")).StdOut);

            using var client = new RawClient(proxy.Port());
            client.Socket.ReceiveBufferSize = 64 * 1024;
            client.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
            await Task.Delay(1000);
            nghttpd.Kill();
            var clock = Stopwatch.StartNew();
            var all = await client.ReadUntilCloseBytesAsync(TimeSpan.FromSeconds(20));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "the client was not cut off");
            int headEnd = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
            Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(all, 0, 12));
            Assert.True(all.Length - headEnd < size, "the whole body arrived although the server was killed");
        }
        finally
        {
            if (!nghttpd.HasExited) nghttpd.Kill();
            nghttpd.WaitForExit(5000);
            nghttpd.Dispose();
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Response_timeout_applies_and_the_abandoned_stream_is_reset()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/stall", async ctx =>
        {
            ctx.RequestAborted.Register(() => aborted.TrySetResult());
            await Task.Delay(TimeSpan.FromSeconds(20), ctx.RequestAborted).ContinueWith(_ => { });
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port, "response_timeout = \"500ms\""));

        var clock = Stopwatch.StartNew();
        var r = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url("/stall").ToString());

        Assert.Equal("504", r.StdOut);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
        // RST_STREAM CANCEL reached the server: it stops working on a request nobody waits for.
        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_client_that_gives_up_cancels_the_stream_at_the_server_at_once()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/stall", async ctx =>
        {
            ctx.RequestAborted.Register(() => aborted.TrySetResult());
            await Task.Delay(TimeSpan.FromSeconds(20), ctx.RequestAborted).ContinueWith(_ => { });
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port, "response_timeout = \"30s\""));

        // curl over h2c gives up after 1 s and closes its connection: the proxy cuts the stream's upstream request
        // (RST_STREAM to the server) then, not when response_timeout passes.
        var clock = Stopwatch.StartNew();
        var r = await Processes.CurlAsync("--http2-prior-knowledge", "--max-time", "1", "-o", "/dev/null", "-w", "%{http_code}", proxy.Url("/stall").ToString());
        Assert.Equal("000", r.StdOut);
        await aborted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"the server saw the cancel after {clock.Elapsed}");
    }

    [Fact]
    public async Task Expect_100_continue_is_relayed_from_the_server()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapPost("/upload", async ctx =>
        {
            var body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            await ctx.Response.WriteAsync("got " + body);
        }));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = new RawClient(proxy.Port());

        client.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
        var interim = new byte[64];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await client.Socket.ReceiveAsync(interim, System.Net.Sockets.SocketFlags.None, cts.Token);
        Assert.StartsWith("HTTP/1.1 100 Continue\r\n", Encoding.ASCII.GetString(interim, 0, n));
        client.Send("hello");
        var response = await client.ReadUntilCloseAsync(TimeSpan.FromSeconds(10));

        Assert.StartsWith("HTTP/1.1 200", response);
        Assert.EndsWith("got hello\r\n0\r\n\r\n", response);
    }

    [Fact]
    public async Task A_reload_closes_the_old_generations_idle_connections()
    {
        await using var origin = await H2Origin.StartAsync(Describe);
        await using var proxy = TestProxy.Start(Config(origin.Port));

        Assert.StartsWith("proto=HTTP/2", (await Processes.CurlAsync(proxy.Url("/one").ToString())).StdOut);
        Assert.Equal(1, origin.OpenConnections);
        proxy.Reload(Config(origin.Port));

        await Wait.UntilAsync(() => origin.OpenConnections == 0, "the old connection closed", TimeSpan.FromSeconds(10));
        Assert.StartsWith("proto=HTTP/2", (await Processes.CurlAsync(proxy.Url("/two").ToString())).StdOut);
        Assert.Equal(2, origin.Connections);
    }

    [Fact]
    public void An_h2c_upstream_for_a_tcp_listener_is_a_config_error()
    {
        var error = Assert.Throws<ProxyStartException>(() => TestProxy.Start(TcpConfigs.Forward([9], upstreamExtra: "protocol = \"h2c\"")));
        var problem = Assert.Single(error.Problems);
        Assert.Matches(@"^test\.toml:\d+:\d+: upstreams\.app\.protocol: ""h2c"" makes no sense for the upstream of a tcp listener", problem);
    }
}
