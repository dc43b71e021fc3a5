using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Http2.Frames;
using FastProxy.Tests.Http2;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Upstreams.Http2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// aggregate's parts go through their upstream's own machinery: the balancer fails over from a server that refuses
/// connections, an h2c upstream is spoken to over HTTP/2, and a client that resets its HTTP/2 stream ends the parts
/// still waiting (their upstream connections close at once, not when the part's timeout passes).
/// </summary>
public sealed class AggregateUpstreamTests
{
    private static string Config(string upstreams, string parts, string timeout = "10s") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "me"
        upstream = "a"
        policies = ["me"]

        {{upstreams}}

        [policies.me]
        type = "aggregate"
        timeout = "{{timeout}}"
        parts = [
          {{parts}}
        ]
        """;

    [Fact]
    public async Task A_part_fails_over_from_a_refusing_server_to_the_next_the_balancer_picks()
    {
        await using var good = new RawUpstream(_ => RawUpstream.Ok("{\"ok\":1}"));
        int closed = ProxyProcess.FreePort();
        await using var proxy = TestProxy.Start(Config($$"""
            [upstreams.a]
            servers = ["127.0.0.1:{{closed}}", "127.0.0.1:{{good.Port}}"]
            """, """{ name = "a", upstream = "a", path = "/a" },"""));

        for (int i = 0; i < 4; i++)
        {
            var (status, headers, body) = await AggregateLoopbackTests.CurlAsync(proxy, h2: i % 2 == 1, "/me");
            Assert.EndsWith("200", status.Split(' ')[1]);
            Assert.Equal("{\"a\":{\"ok\":1}}", Encoding.UTF8.GetString(body));
            Assert.Empty(AggregateLoopbackTests.Values(headers, "x-aggregate-partial"));
        }
        Assert.Equal(4, good.Requests.Count);
    }

    [Fact]
    public async Task A_part_to_an_h2c_upstream_is_sent_over_http2()
    {
        await using var origin = await H2Origin.StartAsync(app => app.Map("/{**path}", ctx =>
        {
            ctx.Response.ContentType = "application/json";
            return ctx.Response.WriteAsync($"{{\"proto\":\"{ctx.Request.Protocol}\",\"path\":\"{ctx.Request.Path}{ctx.Request.QueryString}\",\"id\":\"{ctx.Request.Headers["x-request-id"]}\"}}");
        }));
        await using var json = new RawUpstream(_ => RawUpstream.Ok("[true]"));
        await using var proxy = TestProxy.Start(Config($$"""
            [upstreams.a]
            servers = ["127.0.0.1:{{json.Port}}"]
            [upstreams.h2]
            servers = ["127.0.0.1:{{origin.Port}}"]
            protocol = "h2c"
            """, """
            { name = "h2", upstream = "h2", path = "/items/{header.x-item}?q=1" },
              { name = "h1", upstream = "a", path = "/list" },
            """));

        var (status, _, body) = await AggregateLoopbackTests.CurlAsync(proxy, h2: true, "/me", "-H", "X-Item: 9", "-H", "X-Request-Id: rid-7");

        Assert.Equal("HTTP/2 200", status);
        Assert.Equal("{\"h2\":{\"proto\":\"HTTP/2\",\"path\":\"/items/9?q=1\",\"id\":\"rid-7\"},\"h1\":[true]}", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task A_client_that_resets_its_http2_stream_ends_the_parts_still_waiting()
    {
        using var hold = new HoldingOrigin();
        await using var proxy = TestProxy.Start(Config($$"""
            [upstreams.a]
            servers = ["127.0.0.1:{{hold.Port}}"]
            """, """{ name = "held", upstream = "a", path = "/held", timeout = "60s" },""", timeout: "60s"));
        using var client = new H2RawClient(proxy.Port());
        await client.HandshakeAsync();

        client.SendHeaders(1, endStream: true, H2RawClient.Get("/me"));
        await hold.Requested.Task.WaitAsync(TimeSpan.FromSeconds(20));
        client.Send(w => Http2FrameWriter.WriteRstStream(w, 1, Http2ErrorCode.Cancel));

        // Without the reset reaching the part, its connection would stay open for its 60 s.
        await hold.Closed.Task.WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Reads one request and never answers; says when the request came and when the proxy closed the connection.</summary>
    private sealed class HoldingOrigin : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        public HoldingOrigin()
        {
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(8);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _ = Task.Run(ServeAsync);
        }

        public int Port { get; }
        public TaskCompletionSource Requested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task ServeAsync()
        {
            try
            {
                using var socket = await _listener.AcceptAsync();
                var buffer = new byte[8192];
                var seen = new StringBuilder();
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None);
                    if (n == 0) break;
                    seen.Append(Encoding.Latin1.GetString(buffer, 0, n));
                    if (seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal)) Requested.TrySetResult();
                }
                Closed.TrySetResult();
            }
            catch (SocketException)
            {
                Closed.TrySetResult();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
