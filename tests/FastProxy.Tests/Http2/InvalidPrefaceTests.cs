using System.Text;
using FastProxy.Http2.Frames;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tls;

namespace FastProxy.Tests.Http2;

/// <summary>
/// RFC 9113 §3.4: "Clients and servers MUST treat an invalid connection preface as a connection error of type
/// PROTOCOL_ERROR". Where the connection is HTTP/2's (ALPN chose h2; or, with prior knowledge, the preface's request
/// line "PRI * HTTP/2.0" came) a broken preface is answered with our SETTINGS and GOAWAY PROTOCOL_ERROR, then the
/// close; where it may be HTTP/1.1, HTTP/1.1 serves it as before.
/// </summary>
public sealed class InvalidPrefaceTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private const string H2cConfig = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "hello"
        respond = { status = 200, body = "hello" }
        """;

    /// <summary>What the proxy sent before closing: exactly its SETTINGS, then GOAWAY PROTOCOL_ERROR with no stream processed.</summary>
    private static async Task AssertGoAwayProtocolErrorThenCloseAsync(H2RawClient client)
    {
        var frames = H2RawClient.ParseFrames(await client.ReadToCloseAsync()); // ends at the close
        Assert.Equal([Http2FrameType.Settings, Http2FrameType.GoAway], frames.Select(f => f.Type));
        Assert.False(frames[0].Ack);
        Assert.Equal(Http2ErrorCode.ProtocolError, frames[1].ErrorCode);
        Assert.Equal(0, frames[1].GoAwayLastStreamId);
    }

    [Theory]
    [InlineData("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")] // diverges after the request line
    [InlineData("PRI * HTTP/2.0\r\nHost: x\r\n\r\n")] // an HTTP/1-shaped request with version 2.0
    public async Task H2c_with_a_preface_that_diverges_after_its_request_line_gets_goaway_protocol_error(string preface)
    {
        await using var proxy = TestProxy.Start(H2cConfig);
        using var client = new H2RawClient(proxy.Port());
        client.Send(Encoding.ASCII.GetBytes(preface));
        await AssertGoAwayProtocolErrorThenCloseAsync(client);
    }

    [Fact]
    public async Task H2c_listener_still_serves_http11_including_requests_that_start_like_the_preface()
    {
        await using var proxy = TestProxy.Start(H2cConfig);
        foreach (var request in new[] { "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "PRI /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" })
        {
            using var client = new H2RawClient(proxy.Port());
            client.Send(Encoding.ASCII.GetBytes(request));
            var answer = Encoding.ASCII.GetString(await client.ReadToCloseAsync());
            Assert.StartsWith("HTTP/1.1 200", answer);
            Assert.EndsWith("hello", answer);
        }
    }

    private string TlsConfig(int upstreamPort)
    {
        var site = _files.Server("site", ["site.example.com"]);
        return TlsTerminationTests.Config(upstreamPort, TlsTerminationTests.Entry(site.Cert, site.Key));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: site.example.com\r\n\r\n")] // HTTP/1.1 after choosing h2
    [InlineData("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")]
    [InlineData("hello")]
    public async Task H2_by_alpn_with_an_invalid_preface_gets_goaway_protocol_error_and_nothing_is_forwarded(string preface)
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsConfig(upstream.Port));
        using var client = await H2RawClient.ConnectTlsAsync(proxy.Port());
        client.Send(Encoding.ASCII.GetBytes(preface));
        await AssertGoAwayProtocolErrorThenCloseAsync(client);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task H2_by_alpn_with_the_preface_is_served()
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("over-tls"));
        await using var proxy = TestProxy.Start(TlsConfig(upstream.Port));
        using var client = await H2RawClient.ConnectTlsAsync(proxy.Port());
        await client.HandshakeAsync();
        client.SendHeaders(1, endStream: true, [(":method", "GET"), (":scheme", "https"), (":path", "/t"), (":authority", "site.example.com")]);
        var headers = await client.ReadUntilAsync(f => f.StreamId == 1 || f.Type == Http2FrameType.GoAway);
        Assert.NotNull(headers);
        Assert.Equal(Http2FrameType.Headers, headers.Type);
        Assert.Contains(":status: 200", client.Decode(headers.Payload));
    }
}
