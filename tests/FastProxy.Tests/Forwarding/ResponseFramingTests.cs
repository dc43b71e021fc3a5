using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>Response bodies delimited as RFC 9112 §6.3 says, and bodiless responses kept bodiless.</summary>
public sealed class ResponseFramingTests
{
    [Fact]
    public async Task Content_length_body_is_relayed_and_the_connection_kept()
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("hello world"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(Framing.ContentLength, response.Framing);
        Assert.Equal("11", response.Header("Content-Length"));
        Assert.Equal("hello world", response.BodyText);
        Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Status);
    }

    [Fact]
    public async Task Chunked_body_is_relayed_with_its_framing_and_trailers()
    {
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(Framing.Chunked, response.Framing);
        Assert.True(response.Complete);
        Assert.Equal("hello world", response.BodyText);
        Assert.EndsWith("0\r\nX-Checksum: 42\r\n\r\n", response.RawBody);
        Assert.False(response.Has("Content-Length"));
        // The connection carries on after the last chunk.
        Assert.Equal(Framing.Chunked, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).Framing);
    }

    [Fact]
    public async Task Close_delimited_body_reaches_the_client_and_then_the_connection_closes()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
            await Task.Delay(50);
            await c.SendAsync("part one, ");
            await Task.Delay(50);
            await c.SendAsync("part two");
            c.Close();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(200, response.Status);
        // Passed on as it is (close-delimited, with Connection: close), or re-framed: either way the whole body arrives.
        Assert.True(response.Complete);
        Assert.Equal("part one, part two", response.BodyText);
        if (response.Framing == Framing.Close) Assert.Equal("close", response.Header("Connection"));
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task Close_delimited_body_with_curl()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.0 200 OK\r\n\r\n" + new string('z', 100_000));
            c.Close();
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        var result = await Processes.CurlAsync(proxy.Url().ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(100_000, result.StdOut.Length);
    }

    [Theory]
    [InlineData(204)]
    [InlineData(304)]
    public async Task No_body_for_204_and_304_even_with_a_content_length(int status)
    {
        // A confused server: it announces a body for a status that cannot have one, then sends none.
        await using var upstream = new RawUpstream(_ => System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status} X\r\nContent-Length: 10\r\nETag: \"e\"\r\n\r\n"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var first = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var second = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.Equal(status, first.Status);
        Assert.Equal(status, second.Status);
        Assert.Equal("\"e\"", second.Header("ETag"));
        Assert.Equal(0, client.Buffered);
        // Both went over one upstream connection: the proxy did not wait for 10 body bytes that never come.
        Assert.Equal(1, upstream.Connections);
    }

    [Fact]
    public async Task No_body_for_head_even_with_a_content_length()
    {
        await using var upstream = new RawUpstream(r => r.RequestLine.StartsWith("HEAD")
            ? "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"u8.ToArray()
            : RawUpstream.Ok("after"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var head = await client.RoundTripAsync("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, head.Status);
        Assert.Equal("1234", head.Header("Content-Length"));
        Assert.Equal(0, client.Buffered);

        var next = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal("after", next.BodyText);
        Assert.Equal(1, upstream.Connections);
    }

    [Fact]
    public async Task Head_with_curl_is_answered_without_a_body()
    {
        await using var upstream = new RawUpstream(_ => "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Y: z\r\n\r\n"u8.ToArray());
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));

        var result = await Processes.CurlAsync("-I", proxy.Url().ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("X-Y: z", result.StdOut);
        Assert.Contains("Content-Length: 5", result.StdOut);
    }

    [Fact]
    public async Task Informational_responses_carry_no_body_and_precede_the_final_one()
    {
        await using var upstream = new RawUpstream(_ => System.Text.Encoding.ASCII.GetBytes(
            "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" +
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());
        client.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        var hints = await client.ReadResponseAsync();
        var final = await client.ReadResponseAsync();

        Assert.Equal(103, hints.Status);
        Assert.Equal("</s.css>; rel=preload", hints.Header("Link"));
        Assert.Equal(200, final.Status);
        Assert.Equal("body", final.BodyText);
        Assert.Equal(0, client.Buffered);
    }

    [Fact]
    public async Task A_large_content_length_body_arrives_whole()
    {
        var body = new string('q', 3 * 1024 * 1024 + 17);
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok(body));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new WireClient(proxy.Port());

        var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n", TimeSpan.FromSeconds(20));

        Assert.True(response.Complete);
        Assert.Equal(body.Length, response.Body.Length);
    }
}
