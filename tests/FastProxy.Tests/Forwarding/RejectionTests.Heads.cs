using FastProxy.Tests.Http1;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// Every malformed or ambiguous request head (<see cref="RequestCases"/>), through a real proxy: refused with its
/// status and Connection: close, the connection closed, nothing sent upstream.
/// </summary>
public sealed class HeadRejectionTests
{
    private static Task Refused(string name, int pieceSize = 0)
    {
        var c = RequestCases.Find(name);
        return Refusal.AssertRefusedAsync(Wire.Bytes(c.Request), c.Status, pieceSize: pieceSize);
    }

    [Theory]
    [MemberData(nameof(RequestCases.FramingNames), MemberType = typeof(RequestCases))]
    public Task Framing(string name) => Refused(name);

    [Theory]
    [MemberData(nameof(RequestCases.FieldNames), MemberType = typeof(RequestCases))]
    public Task Field_line(string name) => Refused(name);

    [Theory]
    [MemberData(nameof(RequestCases.RequestLineNames), MemberType = typeof(RequestCases))]
    public Task Request_line(string name) => Refused(name);

    [Theory]
    [MemberData(nameof(RequestCases.HostNames), MemberType = typeof(RequestCases))]
    public Task Host(string name) => Refused(name);

    /// <summary>A sample of every kind, one byte per segment: the proxy's resumed parsing refuses them all the same.</summary>
    [Theory]
    [InlineData("cl_and_te")]
    [InlineData("cl_duplicate_differing")]
    [InlineData("cl_plus")]
    [InlineData("cl_overflow_long")]
    [InlineData("te_gzip")]
    [InlineData("te_chunked_twice")]
    [InlineData("te_trailing_comma")]
    [InlineData("te_vertical_tab_before")]
    [InlineData("te_http10")]
    [InlineData("space_before_colon")]
    [InlineData("obs_fold_space")]
    [InlineData("bare_cr_in_value")]
    [InlineData("nul_in_value")]
    [InlineData("name_non_ascii")]
    [InlineData("no_colon")]
    [InlineData("bare_lf_field")]
    [InlineData("method_control")]
    [InlineData("version_1_2")]
    [InlineData("target_fragment")]
    [InlineData("asterisk_get")]
    [InlineData("connect")]
    [InlineData("host_missing")]
    [InlineData("host_duplicate_differing")]
    public Task One_byte_per_segment(string name) => Refused(name, pieceSize: 1);

    [Fact]
    public async Task Good_request_pipelined_after_a_bad_one_is_not_processed()
    {
        var bad = RequestCases.Find("cl_duplicate_differing").Request;
        string response = await Refusal.AssertRefusedAsync(Wire.Bytes(bad + "GET /second HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
        Assert.DoesNotContain("second", response);
    }

    [Fact]
    public async Task Smuggled_request_behind_cl_and_te_is_not_processed()
    {
        const string attack = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            + "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
        await Refusal.AssertRefusedAsync(Wire.Bytes(attack), 400);
    }

    [Fact]
    public async Task Good_request_pipelined_after_a_bad_one_is_not_processed_when_trickled()
    {
        var bad = RequestCases.Find("obs_fold_tab").Request;
        await Refusal.AssertRefusedAsync(Wire.Bytes(bad + "GET /second HTTP/1.1\r\nHost: a\r\n\r\n"), 400, pieceSize: 1);
    }

    [Fact]
    public async Task Bad_request_pipelined_after_a_good_one_closes_after_the_good_ones_response()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new RawClient(proxy.Port());
        var bad = RequestCases.Find("te_lines_chunked_twice").Request;
        await Refusal.SendAsync(client, Wire.Bytes("GET /first HTTP/1.1\r\nHost: a\r\n\r\n" + bad + "GET /third HTTP/1.1\r\nHost: a\r\n\r\n"));

        var (first, rest) = Refusal.SplitFirstResponse(await client.ReadUntilCloseAsync(Refusal.ReadTimeout));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", first);
        Assert.EndsWith("conn=1", first);
        Refusal.AssertOnlyRefusal(rest, 400);
        Assert.True(await client.IsClosedAsync(Refusal.CloseWait));

        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("GET /first HTTP/1.1", seen.RequestLine);
        Assert.DoesNotContain("POST", Wire.Text(upstream.ReceivedBytes));
    }

    /// <summary>About 13 KiB of good fields (80, under the default 100): the head straddles the proxy's 4 KiB receive segments.</summary>
    private static readonly string ManyFields = string.Concat(Enumerable.Range(0, 80).Select(i => $"X-Field-{i:D3}: {new string('v', 145)}\r\n"));

    /// <summary>About 36 KiB in 30 fields: over the default max_header_bytes (32 KiB), under max_headers.</summary>
    private static readonly string BigFields = string.Concat(Enumerable.Range(0, 30).Select(i => $"X-Big-{i:D2}: {new string('v', 1200)}\r\n"));

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(4096)]
    public Task Bad_field_after_many_good_ones_across_segments(int pieceSize)
        => Refusal.AssertRefusedAsync(Wire.Bytes("POST / HTTP/1.1\r\nHost: a\r\n" + ManyFields + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            400, pieceSize: pieceSize);

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public Task Head_over_default_max_header_bytes_across_segments_is_431(int pieceSize)
        => Refusal.AssertRefusedAsync(Wire.Bytes("GET / HTTP/1.1\r\nHost: a\r\n" + BigFields + "\r\n"), 431, pieceSize: pieceSize);

    [Fact]
    public async Task Large_good_head_across_segments_is_forwarded_intact()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new RawClient(proxy.Port());
        await client.SendInPiecesAsync(Wire.Bytes("GET /big HTTP/1.1\r\nHost: a\r\n" + ManyFields + "Connection: close\r\n\r\n"), 1000, delayMs: 1);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadUntilCloseAsync(Refusal.ReadTimeout));
        var seen = Assert.Single(upstream.Requests);
        Assert.Contains(ManyFields, seen.Head);
    }

    [Theory]
    [InlineData("GET http://other.test:8080/p/q?x=1 HTTP/1.1", "Host: wrong.test\r\n", "GET /p/q?x=1 HTTP/1.1", "other.test:8080")]
    [InlineData("GET http://other.test?x=1 HTTP/1.1", "Host: wrong.test\r\n", "GET /?x=1 HTTP/1.1", "other.test")]
    [InlineData("GET HTTPS://[::1]:9/ HTTP/1.1", "host: wrong.test\r\n", "GET / HTTP/1.1", "[::1]:9")]
    [InlineData("POST http://other.test/form HTTP/1.0", "Content-Length: 2\r\n", "POST /form HTTP/1.1", "other.test")]
    public async Task Absolute_form_target_wins_and_host_is_rewritten(string requestLine, string fields, string forwardedLine, string host)
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([upstream.Port]));
        using var client = new RawClient(proxy.Port());
        string body = fields.Contains("Content-Length") ? "hi" : "";
        client.Send($"{requestLine}\r\n{fields}X-Other: o\r\nConnection: close\r\n\r\n{body}");

        string response = await client.ReadUntilCloseAsync(Refusal.ReadTimeout);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal(forwardedLine, seen.RequestLine);
        Assert.Single(seen.HeaderLines, l => l.StartsWith("Host:", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(host, seen.Header("Host"));
        Assert.Equal(host, seen.Header("X-Forwarded-Host"));
        Assert.Equal("o", seen.Header("X-Other"));
        Assert.DoesNotContain("wrong.test", seen.Head);
        Assert.Equal(body, Wire.Text(seen.Body));
    }
}
