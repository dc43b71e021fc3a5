using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>Valid requests parse to the right facts, the same however their bytes are split.</summary>
public sealed class RequestParserAcceptTests
{
    /// <summary>Parses every split of <paramref name="request"/> (must complete) and returns the head and the bytes.</summary>
    private static (RequestHead Head, byte[] Bytes) Parse(string request, HeadLimits? limits = null)
    {
        var parser = new RequestUnderTest(limits ?? HeadLimits.Default);
        var bytes = Wire.Bytes(request);
        string whole = HeadSplits.Check(parser, bytes);
        Assert.StartsWith("Complete", whole);
        // Check leaves the head as the last split parsed it; parse whole once more for the assertions.
        parser.Reset();
        Assert.Equal(ParseStatus.Complete, parser.Parse(bytes));
        return (parser.Head, bytes);
    }

    private static string S(ReadOnlySpan<byte> bytes) => Wire.Text(bytes);

    private static List<string> Fields(RequestHead h, byte[] b)
        => [.. h.Fields.ToArray().Select(f => $"{S(f.Name(b))}={S(f.Value(b))}{(f.HopByHop ? " hop" : "")}")];

    [Fact]
    public void Origin_form_get()
    {
        var (h, b) = Parse("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n");
        Assert.Equal(HttpMethod.Get, h.Method);
        Assert.Equal("GET", S(h.MethodBytes(b)));
        Assert.Equal(TargetForm.Origin, h.TargetForm);
        Assert.Equal("/a/b?x=1&y=2", S(h.Target(b)));
        Assert.Equal("/a/b", S(h.Path(b)));
        Assert.Equal("/a/b?x=1&y=2", S(h.PathAndQuery(b)));
        Assert.Equal("example.com:8080", S(h.Host(b)));
        Assert.Equal("example.com", S(h.HostName(b)));
        Assert.False(h.HostFromTarget);
        Assert.Equal(HttpVersion.Http11, h.Version);
        Assert.Equal(["Host=example.com:8080", "User-Agent=t", "Accept=*/*"], Fields(h, b));
        Assert.Equal(-1, h.ContentLength);
        Assert.False(h.IsChunked);
        Assert.False(h.HasBody);
        Assert.True(h.KeepAlive);
        Assert.False(h.ExpectContinue);
        Assert.Equal(b.Length, h.HeadLength);
        Assert.Equal(0, h.RequestLineStart);
    }

    [Fact]
    public void Content_length_body_is_not_part_of_the_head()
    {
        const string head = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 0005\r\n\r\n";
        var (h, _) = Parse(head + "hello");
        Assert.Equal(HttpMethod.Post, h.Method);
        Assert.Equal(5, h.ContentLength);
        Assert.True(h.HasBody);
        Assert.False(h.IsChunked);
        Assert.Equal(head.Length, h.HeadLength);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("  17\t", 17)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("000000000000000000000000000042", 42)]
    public void Content_length_digits(string value, long expected)
    {
        var (h, _) = Parse($"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:{value}\r\n\r\n");
        Assert.Equal(expected, h.ContentLength);
        Assert.Equal(expected > 0, h.HasBody);
    }

    [Theory]
    [InlineData("chunked")]
    [InlineData("Chunked")]
    [InlineData("CHUNKED")]
    [InlineData(" \tchunked \t")]
    public void Chunked(string value)
    {
        var (h, b) = Parse($"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {value}\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        Assert.True(h.IsChunked);
        Assert.True(h.HasBody);
        Assert.Equal(-1, h.ContentLength);
        Assert.Equal(Wire.BodyStart(b), h.HeadLength);
        // Transfer-Encoding is framing, rewritten by the forwarder, not dropped as hop-by-hop by the parser.
        Assert.False(h.Fields[h.IndexOf(KnownHeader.TransferEncoding)].HopByHop);
    }

    [Fact]
    public void Http10_without_host_closes_by_default()
    {
        var (h, b) = Parse("GET /old HTTP/1.0\r\nUser-Agent: t\r\n\r\n");
        Assert.Equal(HttpVersion.Http10, h.Version);
        Assert.Equal(0, h.HostLength);
        Assert.False(h.KeepAlive);
        Assert.Equal("/old", S(h.Path(b)));
    }

    [Fact]
    public void Http10_with_empty_host_is_accepted()
    {
        var (h, _) = Parse("GET / HTTP/1.0\r\nHost:\r\n\r\n");
        Assert.Equal(0, h.HostLength);
    }

    [Fact]
    public void Http10_keep_alive()
    {
        var (h, b) = Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\n\r\n");
        Assert.True(h.KeepAlive);
        Assert.Equal(ConnectionOptions.KeepAlive, h.Connection);
        Assert.Equal(["Connection=Keep-Alive hop", "Keep-Alive=timeout=5 hop"], Fields(h, b));
    }

    [Fact]
    public void Http11_connection_close()
    {
        var (h, _) = Parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        Assert.False(h.KeepAlive);
        Assert.Equal(ConnectionOptions.Close, h.Connection);
    }

    [Fact]
    public void Connection_nominated_fields_are_hop_by_hop_but_framing_and_host_never()
    {
        var (h, b) = Parse("POST / HTTP/1.1\r\nHost: a\r\nX-Secret: s\r\nContent-Length: 2\r\nX-Keep: k\r\n"
            + "Connection: x-secret, , Content-Length,host\r\nConnection: keep-alive, X-Other\r\nX-Other: o\r\n"
            + "TE: trailers\r\nTrailer: X-T\r\nProxy-Authorization: basic x\r\nProxy-Connection: keep-alive\r\n\r\nhi");
        Assert.Equal(
            [
                "Host=a", "X-Secret=s hop", "Content-Length=2", "X-Keep=k",
                "Connection=x-secret, , Content-Length,host hop", "Connection=keep-alive, X-Other hop", "X-Other=o hop",
                "TE=trailers hop", "Trailer=X-T hop", "Proxy-Authorization=basic x hop", "Proxy-Connection=keep-alive hop",
            ],
            Fields(h, b));
        Assert.Equal(2, h.ContentLength);
        Assert.Equal(KnownHeader.Proxy, h.Fields[9].Known);
        Assert.True(h.KeepAlive);
    }

    [Fact]
    public void Upgrade_request()
    {
        var (h, b) = Parse("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
        Assert.True(h.IsUpgrade);
        Assert.Equal(ConnectionOptions.Upgrade, h.Connection);
        Assert.Equal(["Host=a", "Connection=Upgrade hop", "Upgrade=websocket hop"], Fields(h, b));
    }

    [Theory]
    [InlineData("100-continue", true)]
    [InlineData("100-Continue", true)]
    [InlineData(" 100-continue ", true)]
    [InlineData("100-continue-not", false)]
    public void Expect(string value, bool expected)
    {
        var (h, _) = Parse($"PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: {value}\r\n\r\n");
        Assert.Equal(expected, h.ExpectContinue);
    }

    [Fact]
    public void Absolute_form_wins_over_host()
    {
        var (h, b) = Parse("GET http://Example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other.test\r\n\r\n");
        Assert.Equal(TargetForm.Absolute, h.TargetForm);
        Assert.Equal("http://Example.com:8080/p/q?x=1", S(h.Target(b)));
        Assert.Equal("Example.com:8080", S(h.Host(b)));
        Assert.Equal("Example.com", S(h.HostName(b)));
        Assert.True(h.HostFromTarget);
        Assert.Equal("/p/q", S(h.Path(b)));
        Assert.Equal("/p/q?x=1", S(h.PathAndQuery(b)));
    }

    [Theory]
    [InlineData("http://a", "a", "a", "", "")]
    [InlineData("HTTP://a?x=1", "a", "a", "", "?x=1")]
    [InlineData("https://a:443", "a:443", "a", "", "")]
    [InlineData("http://a:/", "a:", "a", "/", "/")]
    [InlineData("http://[::1]:8080/x?y", "[::1]:8080", "[::1]", "/x", "/x?y")]
    [InlineData("http://[2001:db8::1]/", "[2001:db8::1]", "[2001:db8::1]", "/", "/")]
    [InlineData("http://a.b-c_d~e%41!$&'()*+,;=/", "a.b-c_d~e%41!$&'()*+,;=", "a.b-c_d~e%41!$&'()*+,;=", "/", "/")]
    public void Absolute_form_parts(string target, string host, string hostName, string path, string pathAndQuery)
    {
        var (h, b) = Parse($"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal(TargetForm.Absolute, h.TargetForm);
        Assert.Equal(host, S(h.Host(b)));
        Assert.Equal(hostName, S(h.HostName(b)));
        Assert.Equal(path, S(h.Path(b)));
        Assert.Equal(pathAndQuery, S(h.PathAndQuery(b)));
    }

    [Fact]
    public void Asterisk_form_options()
    {
        var (h, b) = Parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(HttpMethod.Options, h.Method);
        Assert.Equal(TargetForm.Asterisk, h.TargetForm);
        Assert.Equal("*", S(h.Target(b)));
        Assert.Equal("*", S(h.PathAndQuery(b)));
    }

    [Theory]
    [InlineData("[::1]", "[::1]")]
    [InlineData("[::1]:8080", "[::1]")]
    [InlineData("[2001:db8:85a3::8a2e:370:7334]:443", "[2001:db8:85a3::8a2e:370:7334]")]
    [InlineData("[fe80::1%25eth0]", "[fe80::1%25eth0]")]
    [InlineData("127.0.0.1:80", "127.0.0.1")]
    [InlineData("example.com:", "example.com")]
    [InlineData("EXAMPLE.com", "EXAMPLE.com")]
    public void Host_literals(string host, string hostName)
    {
        var (h, b) = Parse($"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        Assert.Equal(host, S(h.Host(b)));
        Assert.Equal(hostName, S(h.HostName(b)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Leading_empty_lines_are_skipped(int count)
    {
        string lines = string.Concat(Enumerable.Repeat("\r\n", count));
        var (h, b) = Parse(lines + "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(2 * count, h.RequestLineStart);
        Assert.Equal("GET", S(h.MethodBytes(b)));
        Assert.Equal("/x", S(h.Path(b)));
    }

    [Theory]
    [InlineData("PURGE", HttpMethod.Custom)]
    [InlineData("M-SEARCH", HttpMethod.Custom)]
    [InlineData("get", HttpMethod.Custom)]
    [InlineData("!#$%&'*+-.^_`|~", HttpMethod.Custom)]
    [InlineData("HEAD", HttpMethod.Head)]
    [InlineData("DELETE", HttpMethod.Delete)]
    [InlineData("PATCH", HttpMethod.Patch)]
    [InlineData("TRACE", HttpMethod.Trace)]
    [InlineData("PUT", HttpMethod.Put)]
    public void Methods_are_tokens(string method, HttpMethod expected)
    {
        var (h, b) = Parse($"{method} / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(expected, h.Method);
        Assert.Equal(method, S(h.MethodBytes(b)));
    }

    [Fact]
    public void Field_values_keep_inner_whitespace_and_obs_text()
    {
        var (h, b) = Parse("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:  \t \r\nX-Tight:v\r\nX-Inner: a \t b\r\nX-Latin: caf\u00E9\u00FF\r\n\r\n");
        Assert.Equal(["Host=a", "X-Empty=", "X-Blank=", "X-Tight=v", "X-Inner=a \t b", "X-Latin=caf\u00E9\u00FF"], Fields(h, b));
    }

    [Fact]
    public void Target_may_hold_every_visible_ascii_but_hash()
    {
        string target = "/" + new string(Enumerable.Range(0x21, 0x7E - 0x21 + 1).Select(i => (char)i).Where(c => c != '#').ToArray());
        var (h, b) = Parse($"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(target, S(h.Target(b)));
        Assert.Equal(target[..target.IndexOf('?')], S(h.Path(b)));
    }

    [Fact]
    public void Head_is_reusable_after_reset()
    {
        var parser = new RequestUnderTest(HeadLimits.Default);
        var bad = Wire.Bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
        var good = Wire.Bytes("GET /ok HTTP/1.1\r\nHost: b\r\n\r\n");
        parser.Reset();
        Assert.Equal(ParseStatus.Error, parser.Parse(bad));
        parser.Reset();
        Assert.Equal(ParseStatus.Complete, parser.Parse(good));
        Assert.Equal(HeadError.None, parser.Head.Error);
        Assert.Equal(-1, parser.Head.ContentLength);
        Assert.Equal("b", S(parser.Head.Host(good)));
    }
}
