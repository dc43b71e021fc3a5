using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Hosting;

/// <summary>Every [[listeners]] entry serves, wherever it stands in the file (issue 13: an entry before another table was lost).</summary>
public sealed class ListenerOrderTests
{
    [Fact]
    public async Task A_listener_before_a_routes_block_and_one_after_both_serve()
    {
        await using var origin = new ScriptedOrigin(async (_, c) =>
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\norigin"));
        // [routes.match] after [upstreams.app] still belongs to the route "app", the last [[routes]] entry so far.
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "first"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "app"
            upstream = "app"

            [[listeners]]
            name = "second"
            bind = "127.0.0.1:0"

            [upstreams.app]
            servers = [{ address = "127.0.0.1:{{origin.Port}}" }]

            [routes.match]
            path_prefix = "/app"

            [[routes]]
            name = "hello"
            respond = { status = 200, body = "hello" }
            """);

        foreach (var listener in new[] { "first", "second" })
        {
            using var client = new WireClient(proxy.Port(listener));
            var proxied = await client.RoundTripAsync("GET /app/x HTTP/1.1\r\nHost: x\r\n\r\n");
            var answered = await client.RoundTripAsync("GET /other HTTP/1.1\r\nHost: x\r\n\r\n");

            Assert.Equal((200, "origin"), (proxied.Status, proxied.BodyText));
            Assert.Equal((200, "hello"), (answered.Status, answered.BodyText));
        }
        Assert.Equal(["GET /app/x HTTP/1.1", "GET /app/x HTTP/1.1"], origin.Requests.Select(r => r.RequestLine));
    }
}
