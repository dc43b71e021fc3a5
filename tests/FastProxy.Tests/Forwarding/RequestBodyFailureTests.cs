using System.Diagnostics;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// A streamed request body that goes wrong part-way (the client vanishes, or its chunked framing breaks): the
/// origin must not be left waiting for the rest, and the client must not be left waiting for an answer.
/// </summary>
public sealed class RequestBodyFailureTests
{
    /// <summary>More than the proxy reads ahead before it starts forwarding, so the rest is streamed.</summary>
    private const int Streamed = 200 * 1024;

    [Fact]
    public async Task A_client_that_vanishes_mid_body_releases_the_origin_connection()
    {
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        client.Send($"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {Streamed * 2}\r\n\r\n");
        await client.SendAsync(new byte[Streamed]);
        await WaitUntilAsync(() => origin.Connections == 1);
        await Task.Delay(100);
        client.Dispose();

        // The origin sees its connection end promptly, not after a timeout.
        var stopwatch = Stopwatch.StartNew();
        await WaitUntilAsync(() => origin.ClosedByPeer == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(1, origin.ClosedByPeer);
        Assert.InRange(stopwatch.ElapsedMilliseconds, 0, 3000);
    }

    [Fact]
    public async Task Broken_chunked_framing_mid_body_is_answered_promptly_and_closes_both_sides()
    {
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        client.Send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        await client.SendAsync(System.Text.Encoding.ASCII.GetBytes($"{Streamed:x}\r\n"));
        await client.SendAsync(new byte[Streamed]);
        await client.SendAsync("\r\nNOT-HEX\r\n\r\n"u8.ToArray());

        var stopwatch = Stopwatch.StartNew();
        var response = await client.ReadResponseAsync("POST", TimeSpan.FromSeconds(15));

        // Nothing came back from the origin yet, so the proxy can still say what went wrong.
        Assert.Equal(400, response.Status);
        Assert.InRange(stopwatch.ElapsedMilliseconds, 0, 3000);
        Assert.True(await client.IsClosedAsync());
        await WaitUntilAsync(() => origin.ClosedByPeer == 1);
        Assert.Equal(1, origin.ClosedByPeer);
    }

    [Fact]
    public async Task A_chunked_body_that_grows_over_max_body_while_streaming_is_413()
    {
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: "[limits]\nmax_body = \"300KiB\"\n"));
        using var client = new WireClient(proxy.Port());

        client.Send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int i = 0; i < 2; i++)
        {
            await client.SendAsync(System.Text.Encoding.ASCII.GetBytes($"{Streamed:x}\r\n"));
            await client.SendAsync(new byte[Streamed]);
            await client.SendAsync("\r\n"u8.ToArray());
        }

        var response = await client.ReadResponseAsync("POST", TimeSpan.FromSeconds(15));

        Assert.Equal(413, response.Status);
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_client_that_stalls_mid_body_is_timed_out_and_the_origin_released()
    {
        await using var origin = new ScriptedOrigin((_, _) => Task.CompletedTask);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: "[limits]\nidle_timeout = \"1s\"\n"));
        using var client = new WireClient(proxy.Port());

        client.Send($"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {Streamed * 2}\r\n\r\n");
        await client.SendAsync(new byte[Streamed]);

        var response = await client.ReadResponseAsync("POST", TimeSpan.FromSeconds(15));

        // 408 if the proxy still answers; in any case the connection ends, and so does the origin's.
        Assert.True(response.Status is 408 or 0, $"status {response.Status}");
        Assert.True(await client.IsClosedAsync());
        await WaitUntilAsync(() => origin.ClosedByPeer == 1);
        Assert.Equal(1, origin.ClosedByPeer);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(10);
    }
}
