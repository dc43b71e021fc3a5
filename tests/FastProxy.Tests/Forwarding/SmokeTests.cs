using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

public sealed class SmokeTests
{
    [Fact]
    public async Task Get_is_forwarded_and_answered()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new RawClient(proxy.Port());
        client.Send("GET /hello?x=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t\r\n\r\n");
        var response = await client.ReadResponseAsync();
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response);
        Assert.EndsWith("conn=1", response);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("GET /hello?x=1 HTTP/1.1", seen.RequestLine);
        Assert.Equal("example.test", seen.Header("Host"));
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task Malformed_request_gets_400_and_nothing_reaches_the_upstream()
    {
        await using var upstream = new RawUpstream(parse: false);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new RawClient(proxy.Port());
        client.Send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        var response = await client.ReadUntilCloseAsync();
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", response);
        Assert.Contains("Connection: close\r\n", response);
        Assert.Empty(upstream.ReceivedBytes);
        Assert.Equal(0, upstream.Connections);
    }
}
