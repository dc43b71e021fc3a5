using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Upstreams;

/// <summary>
/// response_timeout bounds how long the server takes to answer, and how long it may stall mid-body; it must not
/// bound how long the client takes to send its request, or to read the answer.
/// </summary>
public sealed class ResponseTimeoutTests
{
    private static Task<KestrelOrigin> StartOriginAsync() => KestrelOrigin.StartAsync(app =>
    {
        app.MapPost("/upload", async ctx =>
        {
            long count = await Pattern.ReadAndCheckAsync(ctx.Request.Body, ctx.RequestAborted);
            await ctx.Response.WriteAsync(count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        app.MapGet("/download", async ctx =>
        {
            const int length = 16 << 20;
            ctx.Response.ContentLength = length;
            await Pattern.WriteAsync(ctx.Response.Body, length, ctx.RequestAborted);
        });
    });

    private static string Config(int port) => TestProxy.SimpleConfig([port], extraUpstream: "response_timeout = \"500ms\"");

    [Fact]
    public async Task A_slow_upload_that_outlasts_response_timeout_is_not_cut_off()
    {
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = new WireClient(proxy.Port());
        const int piece = 64 * 1024, pieces = 12;

        // 768 KiB over about 1.5 s: the origin reads it all as it comes and answers at the end.
        client.Send($"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {piece * pieces}\r\n\r\n");
        for (int i = 0; i < pieces; i++)
        {
            client.Send(Pattern.At((long)i * piece, piece).ToArray());
            await Task.Delay(125);
        }
        var response = await client.ReadFinalResponseAsync("POST");

        Assert.Equal(200, response.Status);
        Assert.Equal((piece * pieces).ToString(System.Globalization.CultureInfo.InvariantCulture), response.BodyText);
    }

    [Fact]
    public async Task Response_timeout_counts_from_the_end_of_the_request_body()
    {
        // The origin reads the whole body, then never answers: the 504 comes response_timeout after the body ends.
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = new WireClient(proxy.Port());
        const int piece = 64 * 1024, pieces = 8;

        client.Send($"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {piece * pieces}\r\n\r\n");
        for (int i = 0; i < pieces; i++)
        {
            client.Send(new byte[piece]);
            await Task.Delay(125);
        }
        var bodySent = System.Diagnostics.Stopwatch.StartNew();
        var response = await client.ReadFinalResponseAsync("POST");

        Assert.Equal(504, response.Status);
        Assert.InRange(bodySent.ElapsedMilliseconds, 300, 3000);
    }

    [Fact]
    public async Task A_client_that_pauses_reading_longer_than_response_timeout_still_gets_everything()
    {
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(proxy.EndPoint());
        await using var stream = new NetworkStream(socket);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await stream.WriteAsync("GET /download HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray(), cts.Token);
        // Not reading: the proxy is held up writing to us while the origin waits on the proxy.
        await Task.Delay(1500, cts.Token);

        var all = new MemoryStream();
        var buffer = new byte[256 * 1024];
        int headEnd = -1;
        long expected = long.MaxValue;
        while (all.Length < expected)
        {
            int n = await stream.ReadAsync(buffer, cts.Token);
            if (n == 0) break;
            all.Write(buffer, 0, n);
            if (headEnd < 0 && (headEnd = all.GetBuffer().AsSpan(0, (int)all.Length).IndexOf("\r\n\r\n"u8)) >= 0)
            {
                Assert.StartsWith("HTTP/1.1 200", Encoding.Latin1.GetString(all.GetBuffer(), 0, headEnd));
                expected = headEnd + 4 + (16 << 20);
            }
        }

        Assert.Equal(expected, all.Length);
    }
}
