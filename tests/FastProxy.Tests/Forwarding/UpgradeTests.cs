using System.Net.WebSockets;
using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace FastProxy.Tests.Forwarding;

/// <summary>Upgrade (RFC 9110 §7.8): after 101 the connection is a two-way byte tunnel.</summary>
public sealed class UpgradeTests
{
    private static Task<KestrelOrigin> StartEchoOriginAsync() => KestrelOrigin.StartAsync(app =>
    {
        app.UseWebSockets();
        app.MapGet("/ws", async ctx =>
        {
            if (!ctx.WebSockets.IsWebSocketRequest)
            {
                ctx.Response.StatusCode = 400;
                return;
            }
            using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[1024 * 1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(), ctx.RequestAborted);
                int length = received.Count;
                while (!received.EndOfMessage)
                {
                    received = await socket.ReceiveAsync(buffer.AsMemory(length), ctx.RequestAborted);
                    length += received.Count;
                }
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", ctx.RequestAborted);
                    return;
                }
                await socket.SendAsync(buffer.AsMemory(0, length), received.MessageType, endOfMessage: true, ctx.RequestAborted);
            }
        });
    });

    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveMessageAsync(ClientWebSocket socket, CancellationToken token)
    {
        var data = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), token);
            data.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return (result.MessageType, data.ToArray());
        }
    }

    [Fact]
    public async Task WebSocket_messages_echo_through_the_proxy()
    {
        await using var origin = await StartEchoOriginAsync();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var socket = new ClientWebSocket();

        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{proxy.Port()}/ws"), cts.Token);
        Assert.Equal(WebSocketState.Open, socket.State);

        for (int i = 0; i < 10; i++)
        {
            var text = Encoding.UTF8.GetBytes($"message {i} " + new string('x', i * 100));
            await socket.SendAsync(text, WebSocketMessageType.Text, endOfMessage: true, cts.Token);
            var (type, data) = await ReceiveMessageAsync(socket, cts.Token);
            Assert.Equal(WebSocketMessageType.Text, type);
            Assert.Equal(text, data);
        }

        // A message far larger than any buffer on the way, in both directions at once.
        var big = Pattern.At(0, 200_000).ToArray();
        await socket.SendAsync(big, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
        var echoed = await ReceiveMessageAsync(socket, cts.Token);
        Assert.Equal(WebSocketMessageType.Binary, echoed.Type);
        Assert.Equal(big, echoed.Data);

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
        Assert.Equal("bye", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task Several_websockets_at_once_stay_separate()
    {
        await using var origin = await StartEchoOriginAsync();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        await Task.WhenAll(Enumerable.Range(0, 5).Select(async n =>
        {
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{proxy.Port()}/ws"), cts.Token);
            for (int i = 0; i < 5; i++)
            {
                var text = Encoding.UTF8.GetBytes($"socket {n} message {i}");
                await socket.SendAsync(text, WebSocketMessageType.Text, endOfMessage: true, cts.Token);
                Assert.Equal(text, (await ReceiveMessageAsync(socket, cts.Token)).Data);
            }
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        }));
    }

    [Fact]
    public async Task Upgrade_fields_reach_the_origin_and_the_101_reaches_the_client()
    {
        // A raw origin: after its 101 it speaks a line protocol, answering each line with the line upper-cased.
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 101 Switching Protocols\r\nUpgrade: shout\r\nConnection: Upgrade\r\nX-Origin: yes\r\n\r\n");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET /chat HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: shout\r\nKeep-Alive: 5\r\n\r\n");

        Assert.Equal(101, response.Status);
        Assert.Equal("shout", response.Header("Upgrade"));
        Assert.Equal("upgrade", response.Header("Connection")?.ToLowerInvariant());
        Assert.Equal("yes", response.Header("X-Origin"));
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("shout", seen.Header("Upgrade"));
        Assert.Equal("upgrade", seen.Header("Connection")?.ToLowerInvariant());
        Assert.Null(seen.Header("Keep-Alive"));
    }

    [Fact]
    public async Task After_101_bytes_flow_both_ways_and_each_side_can_close()
    {
        var originSawEnd = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = new RawTunnelOrigin(originSawEnd);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n");
        Assert.Equal(101, response.Status);

        // Bytes the client sends after the 101 reach the origin, which answers them over the same connection.
        client.Send("ping-1\n");
        Assert.Equal("PING-1\n", await ReadExactAsync(client, 7));
        client.Send("ping-2\n");
        Assert.Equal("PING-2\n", await ReadExactAsync(client, 7));

        // The client ends its side: the origin sees the end, says goodbye, and closes; the client gets both.
        client.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.Equal("ping-1\nping-2\n", await originSawEnd.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("bye\n", await ReadExactAsync(client, 4));
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_tunnel_quiet_both_ways_for_idle_timeout_is_closed_and_a_busy_one_is_not()
    {
        var originSawEnd = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = new RawTunnelOrigin(originSawEnd);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: "[limits]\nidle_timeout = \"2s\"\n"));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n");
        Assert.Equal(101, response.Status);

        // Busy for longer than the timeout: a line every 200 ms keeps it open.
        var busy = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 14; i++)
        {
            client.Send($"tick-{i:00}\n");
            Assert.Equal($"TICK-{i:00}\n", await ReadExactAsync(client, 8));
            await Task.Delay(200);
        }
        Assert.True(busy.ElapsedMilliseconds > 2400, $"busy for {busy.ElapsedMilliseconds} ms");

        // Then quiet: closed after the timeout (heartbeat resolution and a loaded machine allowed for), not before.
        var quiet = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(await client.IsClosedAsync(TimeSpan.FromMilliseconds(1000)));
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(15)));
        // (The clock started 200 ms after the last byte.)
        Assert.InRange(quiet.ElapsedMilliseconds, 1500, 15_000);
    }

    [Fact]
    public async Task Upgrade_on_an_http10_request_is_ignored_and_not_forwarded()
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("plain"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.0\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("plain", response.BodyText);
        var seen = Assert.Single(upstream.Requests);
        Assert.Null(seen.Header("Upgrade"));
        Assert.DoesNotContain("upgrade", seen.Header("Connection") ?? "", StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_101_to_an_http10_upgrade_request_is_refused_with_502()
    {
        // The proxy did not ask for a switch (it dropped the HTTP/1.0 Upgrade), so a 101 is unsolicited.
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.0\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n");

        Assert.Equal(502, response.Status);
    }

    private static async Task<string> ReadExactAsync(WireClient client, int count)
    {
        var buffer = new byte[count];
        int read = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (read < count)
        {
            int n = await client.Socket.ReceiveAsync(buffer.AsMemory(read), System.Net.Sockets.SocketFlags.None, cts.Token);
            if (n == 0) break;
            read += n;
        }
        return Encoding.ASCII.GetString(buffer, 0, read);
    }

    /// <summary>Answers the upgrade with 101, then upper-cases every line it gets until end of stream; then says "bye" and closes.</summary>
    private sealed class RawTunnelOrigin : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
        private readonly Task _serve;

        public RawTunnelOrigin(TaskCompletionSource<string> sawEnd)
        {
            _listener.Start();
            Port = ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;
            _serve = Task.Run(async () =>
            {
                using var tcp = await _listener.AcceptTcpClientAsync();
                var stream = tcp.GetStream();
                var all = new StringBuilder();
                var buffer = new byte[4096];
                // The head first.
                while (!all.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    int n = await stream.ReadAsync(buffer);
                    if (n == 0) return;
                    all.Append(Encoding.Latin1.GetString(buffer, 0, n));
                }
                await stream.WriteAsync("HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n"u8.ToArray());
                var tunnelled = new StringBuilder(all.ToString()[(all.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
                var pending = new StringBuilder(tunnelled.ToString());
                while (true)
                {
                    string text = pending.ToString();
                    int newline;
                    while ((newline = text.IndexOf('\n')) >= 0)
                    {
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(text[..(newline + 1)].ToUpperInvariant()));
                        text = text[(newline + 1)..];
                    }
                    pending.Clear().Append(text);
                    int n = await stream.ReadAsync(buffer);
                    if (n == 0) break;
                    string chunk = Encoding.ASCII.GetString(buffer, 0, n);
                    tunnelled.Append(chunk);
                    pending.Append(chunk);
                }
                sawEnd.TrySetResult(tunnelled.ToString());
                await stream.WriteAsync("bye\n"u8.ToArray());
                tcp.Client.Shutdown(System.Net.Sockets.SocketShutdown.Both);
            });
        }

        public int Port { get; }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try { await _serve.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
        }
    }

    [Fact]
    public async Task What_the_origin_sends_before_closing_the_tunnel_all_reaches_a_slow_client()
    {
        const int length = 8 << 20;
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n" + new string('t', length));
            c.Close();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
        await socket.ConnectAsync(proxy.EndPoint());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await socket.SendAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n"u8.ToArray(), System.Net.Sockets.SocketFlags.None, cts.Token);
        await Task.Delay(500, cts.Token);
        var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cts.Token);
            if (n == 0) break;
            all.Write(buffer, 0, n);
        }

        var text = Encoding.Latin1.GetString(all.ToArray());
        Assert.StartsWith("HTTP/1.1 101", text);
        Assert.Equal(length, text.Length - (text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4));
    }

    [Fact]
    public async Task A_101_nobody_asked_for_is_refused_with_502()
    {
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: surprise\r\nConnection: Upgrade\r\n\r\n"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(502, response.Status);
    }

    [Fact]
    public async Task An_upgrade_the_origin_declines_is_an_ordinary_response()
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("plain"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("plain", response.BodyText);
        Assert.False(response.Has("Upgrade"));
    }
}
