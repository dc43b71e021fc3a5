using FastProxy.Tests.Http1;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// Malformed chunked bodies (<see cref="ChunkedCases"/>) and bodies over max_body: a small body is read and validated
/// before anything is sent upstream, so these are refused with nothing forwarded, not even the head.
/// </summary>
public sealed class BodyRejectionTests
{
    private const string ChunkedHead = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

    [Theory]
    [MemberData(nameof(ChunkedCases.Names), MemberType = typeof(ChunkedCases))]
    public Task Malformed_chunked_body(string name)
        => Refusal.AssertRefusedAsync(Wire.Bytes(ChunkedHead + ChunkedCases.Find(name).Body), 400);

    [Theory]
    [InlineData("size_hex_prefix")]
    [InlineData("size_trailing_space")]
    [InlineData("size_overflow_17_digits")]
    [InlineData("extension_bare_semicolon")]
    [InlineData("extension_control")]
    [InlineData("data_longer_than_size")]
    [InlineData("data_shorter_than_size")]
    [InlineData("bare_lf_after_size")]
    [InlineData("data_followed_by_bare_lf")]
    [InlineData("trailer_bare_lf")]
    public Task Malformed_chunked_body_one_byte_per_segment(string name)
        => Refusal.AssertRefusedAsync(Wire.Bytes(ChunkedHead + ChunkedCases.Find(name).Body), 400, pieceSize: 1);

    [Fact]
    public Task Malformed_chunked_body_after_the_head_arrived_alone()
        => Refusal.AssertRefusedAsync(Wire.Bytes(ChunkedHead + "5\r\nhello\r\n" + "x\r\n"), 400, pieceSize: ChunkedHead.Length);

    [Fact]
    public Task Malformed_chunked_body_sent_with_an_expect_continue_head_is_refused()
        => Refusal.AssertRefusedAsync(
            Wire.Bytes("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0x0\r\n\r\n"), 400);

    private const string MaxBody16 = "max_body = \"16B\"";

    [Fact]
    public Task Content_length_over_max_body_with_expect_continue_is_413_before_the_go_ahead()
        => Refusal.AssertRefusedAsync(Wire.Bytes("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 17\r\n\r\n"), 413, MaxBody16);

    [Fact]
    public Task Content_length_over_max_body_is_413()
        => Refusal.AssertRefusedAsync(Wire.Bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 17\r\n\r\n12345678901234567"), 413, MaxBody16);

    [Fact]
    public Task Content_length_over_max_body_is_413_before_the_body_is_sent()
        => Refusal.AssertRefusedAsync(Wire.Bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n"), 413, MaxBody16);

    [Fact]
    public Task Chunked_body_growing_over_max_body_is_413()
        => Refusal.AssertRefusedAsync(Wire.Bytes(ChunkedHead + "8\r\n12345678\r\n8\r\n12345678\r\n1\r\nx\r\n0\r\n\r\n"), 413, MaxBody16);

    [Fact]
    public Task Chunked_body_growing_over_max_body_is_413_one_byte_per_segment()
        => Refusal.AssertRefusedAsync(Wire.Bytes(ChunkedHead + "8\r\n12345678\r\n9\r\n123456789\r\n0\r\n\r\n"), 413, MaxBody16, pieceSize: 1);

    [Fact]
    public Task Chunk_declared_over_max_body_is_413_before_its_data()
        => Refusal.AssertRefusedAsync(Wire.Bytes(ChunkedHead + "11\r\n"), 413, MaxBody16);

    [Fact]
    public async Task Bodies_at_max_body_are_forwarded()
    {
        await using var upstream = new RawUpstream(RawUpstream.Echo);
        await using var proxy = TestProxy.Start(Refusal.Config(upstream.Port, MaxBody16));
        using var client = new RawClient(proxy.Port());
        client.Send("POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n1234567890abcdef");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadResponseAsync(Refusal.ReadTimeout));
        await client.SendInPiecesAsync(Wire.Bytes(ChunkedHead + "8;ext=1\r\n12345678\r\n8\r\n9abcdef0\r\n0\r\nX-T: t\r\n\r\n"), 1, delayMs: 1);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", await client.ReadResponseAsync(Refusal.ReadTimeout));

        Assert.Equal(2, upstream.Requests.Count);
        Assert.Equal("1234567890abcdef", Wire.Text(upstream.Requests[0].Body));
        Assert.Equal("123456789abcdef0", Wire.Text(upstream.Requests[1].Body));
    }
}
