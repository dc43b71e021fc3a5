using System.Diagnostics;
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
/// <remarks>
/// The margins are wide on purpose: on a 2-core machine the test process's thread pool can stall for most of a
/// second (the test host keeps one of its threads blocked), and a stalled client or origin looks, to the proxy,
/// exactly like a slow one. So the timeout is 2 s, and the client paces its writes from a thread of its own.
/// </remarks>
public sealed class ResponseTimeoutTests
{
    private const int TimeoutMs = 2000;
    private const int Piece = 64 * 1024;

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

    private static string Config(int port) => TestProxy.SimpleConfig([port], extraUpstream: $"response_timeout = \"{TimeoutMs}ms\"");

    /// <summary>Sends a POST head, then the body in pieces at a steady pace, from a dedicated thread; completes when all is sent.</summary>
    private static Task SendPacedAsync(WireClient client, string target, int pieces, int gapMs)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                client.Send($"POST {target} HTTP/1.1\r\nHost: a\r\nContent-Length: {Piece * pieces}\r\n\r\n");
                for (int i = 0; i < pieces; i++)
                {
                    client.Send(Pattern.At((long)i * Piece, Piece).ToArray());
                    Thread.Sleep(gapMs);
                }
                done.SetResult();
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }) { IsBackground = true };
        thread.Start();
        return done.Task;
    }

    [Fact]
    public async Task A_slow_upload_that_outlasts_response_timeout_is_not_cut_off()
    {
        await using var origin = await StartOriginAsync();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = new WireClient(proxy.Port());

        // 640 KiB over 3 s, half again the timeout: the origin reads it as it comes and answers at the end.
        await SendPacedAsync(client, "/upload", pieces: 10, gapMs: 300);
        var response = await client.ReadFinalResponseAsync("POST");

        Assert.Equal(200, response.Status);
        Assert.Equal((Piece * 10).ToString(System.Globalization.CultureInfo.InvariantCulture), response.BodyText);
    }

    [Fact]
    public async Task Response_timeout_counts_from_the_end_of_the_request_body()
    {
        // The origin takes the whole body, then never answers: the 504 comes a timeout after the body ends.
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(Config(origin.Port));
        using var client = new WireClient(proxy.Port());

        await SendPacedAsync(client, "/", pieces: 9, gapMs: 300);
        var bodySent = Stopwatch.StartNew();
        var response = await client.ReadFinalResponseAsync("POST", TimeSpan.FromSeconds(15));

        Assert.Equal(504, response.Status);
        Assert.InRange(bodySent.ElapsedMilliseconds, TimeoutMs - 600, TimeoutMs + 3000);
        Assert.Single(origin.Requests);
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
        // Not reading: the proxy is held up writing to us, and the origin waits on the proxy. Neither is the origin's delay.
        await Task.Delay(TimeoutMs + 1000, cts.Token);

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
