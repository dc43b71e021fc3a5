using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>global.max_connections: client connections beyond the cap get a 503 and are closed.</summary>
public sealed class ConnectionLimitTests
{
    private const string Config = """
        [global]
        max_connections = 2

        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "hello"
        respond = { status = 200, body = "hello" }
        """;

    [Fact]
    public async Task A_connection_over_the_cap_gets_503_and_is_closed()
    {
        await using var proxy = TestProxy.Start(Config);
        using var first = new WireClient(proxy.Port());
        using var second = new WireClient(proxy.Port());
        // Both are accepted and served (and so counted) before the third arrives.
        Assert.Equal(200, (await first.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        Assert.Equal(200, (await second.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);

        using var third = new WireClient(proxy.Port());
        var refused = await third.ReadResponseAsync();

        Assert.Equal(503, refused.Status);
        Assert.Equal("close", refused.Header("Connection"));
        Assert.True(await third.IsClosedAsync());
        // The connections within the cap are untouched.
        Assert.Equal(200, (await first.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
    }

    [Fact]
    public async Task A_closed_connection_frees_its_place()
    {
        await using var proxy = TestProxy.Start(Config);
        using var first = new WireClient(proxy.Port());
        Assert.Equal(200, (await first.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        using var second = new WireClient(proxy.Port());
        Assert.Equal(200, (await second.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")).Status);
        Assert.True(await second.IsClosedAsync());
        second.Dispose();

        // The proxy releases the place as it closes; allow it a moment.
        WireResponse? response = null;
        for (int i = 0; i < 50; i++)
        {
            using var next = new WireClient(proxy.Port());
            response = await next.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            if (response.Status == 200) break;
            await Task.Delay(20);
        }
        Assert.Equal(200, response!.Status);
    }

    [Fact]
    public async Task Curl_over_the_cap_gets_503()
    {
        await using var proxy = TestProxy.Start(Config.Replace("max_connections = 2", "max_connections = 1"));
        using var holder = new WireClient(proxy.Port());
        Assert.Equal(200, (await holder.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);

        var result = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url().ToString());

        Assert.Equal("503", result.StdOut);
    }
}
