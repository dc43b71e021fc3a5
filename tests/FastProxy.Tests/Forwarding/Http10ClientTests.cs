using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>HTTP/1.0 clients: keep-alive only when asked for, no chunked framing, no informational responses.</summary>
public sealed class Http10ClientTests
{
    [Fact]
    public async Task Without_keep_alive_the_connection_closes_after_the_response()
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("one"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.0\r\nHost: a\r\n\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("one", response.BodyText);
        Assert.NotEqual("keep-alive", response.Header("Connection"));
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task With_keep_alive_the_connection_stays_open_and_says_so()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(r.RequestLine.Split(' ')[1]));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var first = await client.RoundTripAsync("GET /1 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
        var second = await client.RoundTripAsync("GET /2 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
        var third = await client.RoundTripAsync("GET /3 HTTP/1.0\r\nHost: a\r\n\r\n");

        Assert.Equal("keep-alive", first.Header("Connection"));
        Assert.Equal(("/1", "/2", "/3"), (first.BodyText, second.BodyText, third.BodyText));
        Assert.Equal("keep-alive", second.Header("Connection"));
        Assert.True(await client.IsClosedAsync());
        // The proxy talks HTTP/1.1 to the origin whatever the client spoke; Via tells the client's version.
        Assert.All(upstream.Requests, r => Assert.EndsWith(" HTTP/1.1", r.RequestLine));
        Assert.Equal("1.0 fastproxy", upstream.Requests[0].Header("Via"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Connection: keep-alive\r\n")]
    public async Task A_chunked_response_is_dechunked_and_the_connection_closed(string connection)
    {
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\nX-T: 1\r\n\r\n"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync($"GET / HTTP/1.0\r\nHost: a\r\n{connection}\r\n");

        Assert.Equal(200, response.Status);
        Assert.False(response.Has("Transfer-Encoding"));
        Assert.Equal("b", response.Header("X-A"));
        Assert.Equal(Framing.Close, response.Framing);
        Assert.Equal("abcdefg", response.BodyText);
        Assert.True(await client.IsClosedAsync());
    }

    [Theory]
    [InlineData("HEAD", 200)]
    [InlineData("GET", 304)]
    public async Task A_bodiless_response_announced_chunked_reaches_an_http10_client_without_transfer_encoding(string method, int status)
    {
        // RFC 9112 §6.1: a server must not send Transfer-Encoding to an HTTP/1.0 client, body or not.
        await using var upstream = new RawUpstream(_ => System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync($"{method} / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");

        Assert.Equal(status, response.Status);
        Assert.Equal("b", response.Header("X-A"));
        Assert.False(response.Has("Transfer-Encoding"));
    }

    [Fact]
    public async Task Informational_responses_are_not_sent_to_an_http10_client()
    {
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());
        client.Send("GET / HTTP/1.0\r\nHost: a\r\n\r\n");

        var response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("ok", response.BodyText);
    }

    [Fact]
    public async Task A_request_without_host_gets_the_servers_address_as_host()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.0\r\n\r\n");

        Assert.Equal(200, response.Status);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal($"127.0.0.1:{upstream.Port}", seen.Header("Host"));
        Assert.Null(seen.Header("X-Forwarded-Host"));
    }

    [Fact]
    public async Task Curl_http10_gets_the_whole_body()
    {
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));

        var result = await Processes.CurlAsync("-0", proxy.Url().ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("hello", result.StdOut);
    }
}
