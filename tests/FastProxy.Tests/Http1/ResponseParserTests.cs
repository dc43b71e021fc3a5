using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>Upstream response heads: strict framing, the same answer however the bytes are split.</summary>
public sealed class ResponseParserTests
{
    private static readonly HeadLimits Limits = new(MaxStartLine: 8 * 1024, MaxHeaderBytes: 64 * 1024, MaxHeaders: 256);

    private static (ResponseHead Head, byte[] Bytes) Parse(string response, HeadLimits? limits = null)
    {
        var parser = new ResponseUnderTest(limits ?? Limits);
        var bytes = Wire.Bytes(response);
        Assert.StartsWith("Complete", HeadSplits.Check(parser, bytes));
        parser.Reset();
        Assert.Equal(ParseStatus.Complete, parser.Parse(bytes));
        return (parser.Head, bytes);
    }

    [Theory]
    [MemberData(nameof(ResponseCases.Names), MemberType = typeof(ResponseCases))]
    public void Ambiguous_or_malformed_response_is_refused(string name)
    {
        var c = ResponseCases.Find(name);
        Assert.Equal($"Error {c.Error}", HeadSplits.Check(new ResponseUnderTest(Limits), Wire.Bytes(c.Response)));
    }

    [Fact]
    public void Content_length_response()
    {
        const string head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n";
        var (h, b) = Parse(head + "hello");
        Assert.Equal(200, h.StatusCode);
        Assert.Equal(HttpVersion.Http11, h.Version);
        Assert.Equal(5, h.ContentLength);
        Assert.False(h.IsChunked);
        Assert.True(h.KeepAlive);
        Assert.Equal(head.Length, h.HeadLength);
        Assert.Equal("200 OK\r\n", Wire.Text(b.AsSpan(h.StatusStart, h.StatusLineEnd - h.StatusStart)));
        Assert.Equal(BodyKind.ContentLength, h.GetBodyKind(HttpMethod.Get));
        Assert.Equal(BodyKind.None, h.GetBodyKind(HttpMethod.Head));
    }

    [Fact]
    public void Chunked_response()
    {
        var (h, _) = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        Assert.True(h.IsChunked);
        Assert.Equal(BodyKind.Chunked, h.GetBodyKind(HttpMethod.Get));
    }

    [Theory]
    [InlineData("HTTP/1.1 204\r\n\r\n", 204)]
    [InlineData("HTTP/1.1 204 \r\n\r\n", 204)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 304)]
    [InlineData("HTTP/1.1 100 Continue\r\n\r\n", 100)]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", 101)]
    [InlineData("HTTP/1.1 599 Whatever you like, even caf\u00E9\r\n\r\n", 599)]
    public void Status_lines(string response, int status)
    {
        var (h, _) = Parse(response);
        Assert.Equal(status, h.StatusCode);
    }

    [Fact]
    public void Close_delimited_http10_response()
    {
        var (h, _) = Parse("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody until close");
        Assert.Equal(HttpVersion.Http10, h.Version);
        Assert.False(h.KeepAlive);
        Assert.Equal(BodyKind.CloseDelimited, h.GetBodyKind(HttpMethod.Get));
    }

    [Fact]
    public void Connection_nominated_response_fields_are_hop_by_hop()
    {
        var (h, b) = Parse("HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n");
        Assert.False(h.KeepAlive);
        var hop = h.Fields.ToArray().Where(f => f.HopByHop).Select(f => Wire.Text(f.Name(b))).ToArray();
        Assert.Equal(["Connection", "X-Internal", "Keep-Alive"], hop);
    }

    [Fact]
    public void Status_line_over_the_limit_is_refused_before_it_ends()
    {
        var limits = new HeadLimits(MaxStartLine: 32, MaxHeaderBytes: 64, MaxHeaders: 4);
        var parser = new ResponseUnderTest(limits);
        Assert.Equal("Error InvalidStatusLine", HeadSplits.Check(parser, Wire.Bytes("HTTP/1.1 200 " + new string('x', 40) + "\r\n\r\n")));
        parser.Reset();
        Assert.Equal(ParseStatus.Error, parser.Parse(Wire.Bytes("HTTP/1.1 200 " + new string('x', 20))));
        Assert.StartsWith("Complete", HeadSplits.Check(parser, Wire.Bytes("HTTP/1.1 200 " + new string('x', 19) + "\r\n\r\n")));
    }

    [Fact]
    public void Response_headers_over_the_limits_are_refused()
    {
        var limits = new HeadLimits(MaxStartLine: 32, MaxHeaderBytes: 64, MaxHeaders: 2);
        Assert.Equal("Error HeadersTooLarge", HeadSplits.Check(new ResponseUnderTest(limits), Wire.Bytes("HTTP/1.1 200 OK\r\nX: " + new string('v', 70) + "\r\n\r\n")));
        Assert.Equal("Error TooManyHeaders", HeadSplits.Check(new ResponseUnderTest(limits), Wire.Bytes("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")));
    }
}
