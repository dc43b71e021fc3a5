using System.Text;
using FastProxy.Tests.Http1;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// An upstream response with ambiguous framing or a bad status line (<see cref="ResponseCases"/>) is never passed on:
/// the client gets the proxy's 502 and not one byte of what the server sent.
/// </summary>
public sealed class UpstreamRejectionTests
{
    [Theory]
    [MemberData(nameof(ResponseCases.Names), MemberType = typeof(ResponseCases))]
    public async Task Bad_response_is_502_and_not_passed_on(string name)
    {
        var bad = Encoding.Latin1.GetBytes(ResponseCases.Find(name).Response);
        await using var upstream = new RawUpstream(_ => bad);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new RawClient(proxy.Port());
        client.Send("GET /thing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");

        string response = await client.ReadUntilCloseAsync(Refusal.ReadTimeout);
        Refusal.AssertOnlyRefusal(response, 502);
        Assert.DoesNotContain("leaked", response);
        Assert.DoesNotContain("smuggled", response);
        Assert.True(await client.IsClosedAsync(Refusal.CloseWait));
        Assert.Equal("GET /thing HTTP/1.1", Assert.Single(upstream.Requests).RequestLine);
    }

    [Fact]
    public async Task After_a_502_the_keep_alive_client_connection_is_not_desynchronised()
    {
        var bad = Encoding.Latin1.GetBytes(ResponseCases.Find("cl_differing").Response);
        int calls = 0;
        await using var upstream = new RawUpstream(r => Interlocked.Increment(ref calls) == 1 ? bad : RawUpstream.Echo(r));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new RawClient(proxy.Port());

        client.Send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
        // The 502 is complete before the second request is sent, so nothing of it can be left unread.
        string first = await client.ReadResponseAsync(Refusal.ReadTimeout);
        Assert.StartsWith("HTTP/1.1 502 ", first);
        Assert.DoesNotContain("leaked", first);
        Assert.DoesNotContain("Connection: close", first);

        client.Send("GET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        string rest = await client.ReadUntilCloseAsync(Refusal.ReadTimeout);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", rest);
        Assert.EndsWith("conn=2", rest);
        Assert.DoesNotContain("smuggled", rest);
        Assert.DoesNotContain("leaked", rest);
        // The bad server connection was dropped, not reused with its unread bytes.
        Assert.Equal(2, upstream.Connections);
    }
}
