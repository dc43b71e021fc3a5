using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>Persistent client connections (RFC 9112 §9.3) and pipelining (§9.3.2) through the proxy.</summary>
public sealed class KeepAliveTests
{
    [Fact]
    public async Task Many_requests_share_one_client_connection()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(r.RequestLine));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 50; i++)
        {
            var response = await client.RoundTripAsync($"GET /n/{i} HTTP/1.1\r\nHost: a\r\n\r\n");
            Assert.Equal(200, response.Status);
            Assert.Equal($"GET /n/{i} HTTP/1.1", response.BodyText);
            Assert.False(response.Has("Connection"));
        }
        Assert.Equal(50, upstream.Requests.Count);
        Assert.False(await client.IsClosedAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order()
    {
        // The first answer is the slowest: an out-of-order proxy would let a later one overtake it.
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            if (r.RequestLine.Contains("/one")) await Task.Delay(200);
            string body = r.RequestLine.Split(' ')[1] + (r.Body.Length > 0 ? ":" + System.Text.Encoding.ASCII.GetString(r.Body) : "");
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        client.Send(
            "GET /one HTTP/1.1\r\nHost: a\r\n\r\n" +
            "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
            "GET /three HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal("/one", (await client.ReadFinalResponseAsync()).BodyText);
        Assert.Equal("/two:abc", (await client.ReadFinalResponseAsync()).BodyText);
        Assert.Equal("/three", (await client.ReadFinalResponseAsync()).BodyText);
        Assert.Equal(0, client.Buffered);
    }

    [Fact]
    public async Task Pipelined_requests_with_chunked_bodies_are_answered_in_order()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(r.RequestLine.Split(' ')[1] + "=" + System.Text.Encoding.ASCII.GetString(r.Body)));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        client.Send(
            "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n" +
            "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n1\r\n!\r\n0\r\n\r\n" +
            "GET /c HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal("/a=xyz", (await client.ReadFinalResponseAsync()).BodyText);
        Assert.Equal("/b=hi!", (await client.ReadFinalResponseAsync()).BodyText);
        Assert.Equal("/c=", (await client.ReadFinalResponseAsync()).BodyText);
    }

    [Fact]
    public async Task Connection_close_from_the_client_is_honoured_after_the_response()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        Assert.Equal(200, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedAsync());
        // The upstream connection is the proxy's own business: it stays pooled.
        Assert.DoesNotContain("close", upstream.Requests[0].Header("Connection") ?? "");
    }

    [Fact]
    public async Task Curl_reuses_one_connection_for_several_urls()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        var url = proxy.Url("/x").ToString();

        var result = await Processes.CurlAsync("-v", url, url, url);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("conn=1conn=1conn=1", result.StdOut);
        Assert.Contains("Re-using existing connection", result.StdErr);
        Assert.Equal(1, upstream.Connections);
    }

    [Fact]
    public async Task Nothing_pipelined_after_connection_close_is_forwarded()
    {
        await using var upstream = new RawUpstream(r => RawUpstream.Ok(r.RequestLine.Split(' ')[1]));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        client.Send("GET /first HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal("/first", (await client.ReadFinalResponseAsync()).BodyText);
        Assert.True(await client.IsClosedAsync());
        Assert.Equal(0, client.Buffered);
        Assert.Equal(["GET /first HTTP/1.1"], upstream.Requests.Select(r => r.RequestLine));
    }

    [Fact]
    public async Task An_idle_keep_alive_connection_is_closed_after_idle_timeout()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port], extraTop: "[limits]\nidle_timeout = \"300ms\"\n"));
        using var client = new WireClient(proxy.Port());

        Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.InRange(stopwatch.ElapsedMilliseconds, 200, 4000);
        Assert.Equal(0, client.Buffered);
    }

    [Fact]
    public async Task Large_request_and_response_heads_pass_through_intact()
    {
        // Both heads span many receive segments: the parsers see them whole, and they are forwarded byte for byte.
        string cookie = string.Concat(Enumerable.Range(0, 600).Select(i => $"k{i}=v{i}; "));
        string setCookies = string.Concat(Enumerable.Range(0, 200).Select(i => $"Set-Cookie: c{i}={new string('x', 150)}\r\n"));
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok", setCookies));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        for (int i = 0; i < 3; i++)
        {
            var response = await client.RoundTripAsync($"GET /{i} HTTP/1.1\r\nHost: a\r\nCookie: {cookie}\r\nX-After: yes\r\n\r\n");
            Assert.Equal(200, response.Status);
            Assert.Equal(200, response.Headers("Set-Cookie").Count);
            Assert.Equal($"c199={new string('x', 150)}", response.Headers("Set-Cookie")[199]);
            Assert.Equal("ok", response.BodyText);
        }
        Assert.All(upstream.Requests, r => Assert.Equal(cookie.Trim(), r.Header("Cookie")));
        Assert.All(upstream.Requests, r => Assert.Equal("yes", r.Header("X-After")));
    }
}
