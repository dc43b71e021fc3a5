using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>A reload that changes an upstream's servers keeps the balancer's state for the servers that stay.</summary>
public sealed class BalancingAcrossReloadTests
{
    private static string Config(string keys, params int[] ports) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        {{keys}}
        servers = [ {{string.Join(", ", ports.Select(p => $"\"127.0.0.1:{p}\""))}} ]
        """;

    private static RawUpstream Named(string name) => new(_ => RawUpstream.Ok(name));

    private static async Task<string> SequenceAsync(WireClient client, int count)
    {
        var seen = new List<string>();
        for (int i = 0; i < count; i++) seen.Add((await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
        return string.Join("", seen);
    }

    [Fact]
    public async Task Round_robin_goes_on_where_it_stood_when_a_reload_adds_a_server()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var c = Named("c");
        await using var d = Named("d");
        await using var proxy = TestProxy.Start(Config("balance = \"round_robin\"", a.Port, b.Port, c.Port));
        using var client = new WireClient(proxy.Port());
        Assert.Equal("ab", await SequenceAsync(client, 2));

        proxy.Reload(Config("balance = \"round_robin\"", a.Port, b.Port, c.Port, d.Port));

        // Before balancers carried their state, the new generation started again at a ("abcd").
        Assert.Equal("cdabcd", await SequenceAsync(client, 6));
    }

    [Fact]
    public async Task A_sticky_cookie_keeps_its_server_across_a_reload()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var c = Named("c");
        await using var proxy = TestProxy.Start(Config("sticky = { cookie = \"srv\" }", a.Port, b.Port));
        using var client = new WireClient(proxy.Port());
        var first = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        string cookie = first.Header("Set-Cookie")!.Split(';')[0];

        proxy.Reload(Config("sticky = { cookie = \"srv\" }", c.Port, b.Port, a.Port));

        for (int i = 0; i < 4; i++)
        {
            var again = await client.RoundTripAsync($"GET / HTTP/1.1\r\nHost: a\r\nCookie: {cookie}\r\n\r\n");
            Assert.Equal(first.BodyText, again.BodyText);
            Assert.Null(again.Header("Set-Cookie"));
        }
    }
}
