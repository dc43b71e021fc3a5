using System.Net.Http;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// Bodies are streamed both ways with back-pressure and never held whole: a GiB passes with flat memory, and a
/// side that stops reading stops the other side's writes. One class, so the big transfers never overlap.
/// </summary>
[Collection(NonParallel.Name)] // measures the whole process's memory: other tests running beside it would count
public sealed class BodyStreamingTests(ITestOutputHelper output)
{
    private const long GiB = 1L << 30;
    private const long MiB = 1L << 20;
    /// <summary>Generous: pipes, socket buffers, GC slack. A proxy that buffers a GiB body needs five times this.</summary>
    private const long MemoryBound = 200 * MiB;
    private static readonly TimeSpan BigTransferLimit = TimeSpan.FromSeconds(60);

    private static string Config(int port) => TestProxy.SimpleConfig([port], extraTop: "[limits]\nmax_body = \"0\"\n");

    private static Task<KestrelOrigin> StartOriginAsync(Func<Task>? gate = null, StrongBox<long>? written = null) => KestrelOrigin.StartAsync(app =>
    {
        app.MapPost("/upload", async ctx =>
        {
            if (gate is not null) await gate();
            long count = await Pattern.ReadAndCheckAsync(ctx.Request.Body, ctx.RequestAborted);
            await ctx.Response.WriteAsync(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        app.MapGet("/download/{length:long}", async ctx =>
        {
            long length = long.Parse((string)ctx.Request.RouteValues["length"]!, System.Globalization.CultureInfo.InvariantCulture);
            if (ctx.Request.Query["chunked"] != "true") ctx.Response.ContentLength = length;
            var body = ctx.Response.Body;
            for (long sent = 0; sent < length;)
            {
                int n = (int)Math.Min(Pattern.BufferSize, length - sent);
                await body.WriteAsync(Pattern.At(sent, n), ctx.RequestAborted);
                sent += n;
                if (written is not null) Interlocked.Add(ref written.Value, n);
            }
        });
        app.MapPost("/echo", async ctx =>
        {
            ctx.Response.ContentLength = ctx.Request.ContentLength;
            await ctx.Request.Body.CopyToAsync(ctx.Response.Body, Pattern.BufferSize, ctx.RequestAborted);
        });
    });

    private static HttpClient Client() => new(new SocketsHttpHandler { UseProxy = false }) { Timeout = BigTransferLimit };

    [Fact]
    public async Task Upload_of_one_GiB_streams_through_with_flat_memory()
    {
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = Client();
        using var cts = new CancellationTokenSource(BigTransferLimit);
        var started = DateTime.UtcNow;

        string answer;
        await using (var probe = MemoryProbe.Start())
        {
            using var response = await client.PostAsync(proxy.Url("/upload"), new PatternContent(GiB), cts.Token);
            answer = await response.Content.ReadAsStringAsync(cts.Token);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            output.WriteLine($"1 GiB up in {(DateTime.UtcNow - started).TotalSeconds:F1} s; {probe}");
            Assert.True(probe.PeakGrowth < MemoryBound, $"memory grew during the upload: {probe}");
        }
        Assert.Equal(GiB.ToString(System.Globalization.CultureInfo.InvariantCulture), answer);
    }

    [Fact]
    public async Task Download_of_one_GiB_streams_through_with_flat_memory()
    {
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = Client();
        using var cts = new CancellationTokenSource(BigTransferLimit);
        var started = DateTime.UtcNow;

        await using var probe = MemoryProbe.Start();
        using var response = await client.GetAsync(proxy.Url($"/download/{GiB}"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(GiB, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        long received = await Pattern.ReadAndCheckAsync(body, cts.Token);

        output.WriteLine($"1 GiB down in {(DateTime.UtcNow - started).TotalSeconds:F1} s; {probe}");
        Assert.Equal(GiB, received);
        Assert.True(probe.PeakGrowth < MemoryBound, $"memory grew during the download: {probe}");
    }

    [Fact]
    public async Task Chunked_upload_streams_through()
    {
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = Client();
        using var cts = new CancellationTokenSource(BigTransferLimit);

        using var request = new HttpRequestMessage(HttpMethod.Post, proxy.Url("/upload")) { Content = new PatternContent(64 * MiB, announceLength: false) };
        using var response = await client.SendAsync(request, cts.Token);

        Assert.True(request.Headers.TransferEncodingChunked ?? true);
        Assert.Equal((64 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture), await response.Content.ReadAsStringAsync(cts.Token));
    }

    [Fact]
    public async Task Chunked_download_streams_through()
    {
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = Client();
        using var cts = new CancellationTokenSource(BigTransferLimit);

        using var response = await client.GetAsync(proxy.Url($"/download/{64 * MiB}?chunked=true"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.True(response.Headers.TransferEncodingChunked);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);

        Assert.Equal(64 * MiB, await Pattern.ReadAndCheckAsync(body, cts.Token));
    }

    [Fact]
    public async Task Request_and_response_bodies_stream_at_the_same_time()
    {
        // The origin echoes as it reads: the response starts long before the request ends, and neither side
        // would fit in any buffer along the way, so this only finishes if both directions flow at once.
        const long length = 48 * MiB;
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy.EndPoint());
        await using var stream = new NetworkStream(socket);
        using var cts = new CancellationTokenSource(BigTransferLimit);

        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n"), cts.Token);
        var send = Pattern.WriteAsync(stream, length, cts.Token);
        var head = await ReadHeadAsync(stream, cts.Token);
        Assert.StartsWith("HTTP/1.1 200", head.Text);
        long received = head.BodyStart.Length;
        Assert.True(head.BodyStart.AsSpan().SequenceEqual(Pattern.At(0, head.BodyStart.Length).Span));
        var buffer = new byte[Pattern.BufferSize];
        while (received < length)
        {
            int n = await stream.ReadAsync(buffer, cts.Token);
            Assert.NotEqual(0, n);
            Assert.True(buffer.AsSpan(0, n).SequenceEqual(Pattern.At(received, n).Span));
            received += n;
        }
        await send;
        Assert.Equal(length, received);
    }

    [Fact]
    public async Task A_client_that_stops_reading_stops_the_origin()
    {
        const long length = 128 * MiB;
        var written = new StrongBox<long>();
        await using var origin = await StartOriginAsync(written: written);
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = Client();
        using var cts = new CancellationTokenSource(BigTransferLimit);

        using var response = await client.GetAsync(proxy.Url($"/download/{length}"), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        // Not reading: whatever the origin got rid of sits in socket buffers and the proxy's pipes.
        await Task.Delay(1000, cts.Token);
        long stalled = Volatile.Read(ref written.Value);
        await Task.Delay(300, cts.Token);
        long stillStalled = Volatile.Read(ref written.Value);
        output.WriteLine($"origin wrote {stalled >> 20} MiB, then {stillStalled >> 20} MiB, while the client read nothing");

        Assert.True(stillStalled < 40 * MiB, $"origin wrote {stillStalled} bytes to a client that reads nothing");
        Assert.Equal(stalled, stillStalled);
        Assert.Equal(length, await Pattern.ReadAndCheckAsync(body, cts.Token));
    }

    [Fact]
    public async Task An_origin_that_stops_reading_stops_the_client()
    {
        const long length = 128 * MiB;
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await StartOriginAsync(gate: () => go.Task);
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy.EndPoint());
        await using var stream = new NetworkStream(socket);
        using var cts = new CancellationTokenSource(BigTransferLimit);

        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n"), cts.Token);
        long sent = 0;
        var send = Task.Run(async () =>
        {
            while (sent < length)
            {
                int n = (int)Math.Min(Pattern.BufferSize, length - sent);
                await stream.WriteAsync(Pattern.At(sent, n), cts.Token);
                Interlocked.Add(ref sent, n);
            }
        });
        await Task.Delay(1000, cts.Token);
        long stalled = Interlocked.Read(ref sent);
        output.WriteLine($"client sent {stalled >> 20} MiB while the origin read nothing");
        Assert.False(send.IsCompleted);
        Assert.True(stalled < 40 * MiB, $"client could send {stalled} bytes to an origin that reads nothing");

        go.SetResult();
        await send;
        var head = await ReadHeadAsync(stream, cts.Token);
        Assert.StartsWith("HTTP/1.1 200", head.Text);
    }

    private sealed record Head(string Text, byte[] BodyStart);

    private static async Task<Head> ReadHeadAsync(Stream stream, CancellationToken token)
    {
        var bytes = new List<byte>();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int end = bytes.ToArray().AsSpan().IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return new Head(Encoding.Latin1.GetString(bytes.GetRange(0, end + 4).ToArray()), bytes.Skip(end + 4).ToArray());
            }
            int n = await stream.ReadAsync(buffer, token);
            if (n == 0) throw new EndOfStreamException("closed before a response head: " + Encoding.Latin1.GetString(bytes.ToArray()));
            bytes.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }
}
