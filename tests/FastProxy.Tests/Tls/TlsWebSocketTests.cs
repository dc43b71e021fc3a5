using System.Net.WebSockets;
using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace FastProxy.Tests.Tls;

/// <summary>An upgrade on a TLS listener: after 101 the tunnel runs over the decrypted pipes (wss:// in, ws:// out).</summary>
public sealed class TlsWebSocketTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task WebSocket_messages_echo_through_a_TLS_listener()
    {
        await using var origin = await KestrelOrigin.StartAsync(app =>
        {
            app.UseWebSockets();
            app.MapGet("/ws", async ctx =>
            {
                using var socket = await ctx.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[64 * 1024];
                while (true)
                {
                    var received = await socket.ReceiveAsync(buffer.AsMemory(), ctx.RequestAborted);
                    if (received.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", ctx.RequestAborted);
                        return;
                    }
                    // Messages in this test fit one receive.
                    await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, ctx.RequestAborted);
                }
            });
        });
        var site = _files.Server("site", ["site.example.com"]);
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(origin.Port, TlsTerminationTests.Entry(site.Cert, site.Key)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var socket = new ClientWebSocket();
        // The test CA is not trusted by the client: what matters here is the tunnel over the TLS connection.
        socket.Options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;

        await socket.ConnectAsync(new Uri($"wss://127.0.0.1:{proxy.Port()}/ws"), cts.Token);
        var buffer = new byte[64 * 1024];
        for (int i = 0; i < 5; i++)
        {
            var text = Encoding.UTF8.GetBytes($"message {i} " + new string('x', i * 1000));
            await socket.SendAsync(text, WebSocketMessageType.Text, endOfMessage: true, cts.Token);
            int length = 0;
            bool end;
            do
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(length), cts.Token);
                length += received.Count;
                end = received.EndOfMessage;
            }
            while (!end);
            Assert.Equal(text, buffer[..length]);
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }
}
