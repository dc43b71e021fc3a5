using System.Buffers;
using FastProxy.Http2.Frames;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>RFC 9113 §3.4: the 24-octet client preface, told apart from HTTP/1.1 at every prefix.</summary>
public sealed class PrefaceTests
{
    private static readonly byte[] Preface = Ascii("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    [Fact]
    public void Preface_is_the_rfc_octets() => Assert.Equal(Hex("505249202a20485454502f322e300d0a0d0a534d0d0a0d0a"), Http2Preface.ClientPreface.ToArray());

    [Fact]
    public void Every_prefix_needs_more_and_the_whole_matches_however_cut()
    {
        for (int n = 0; n < Preface.Length; n++)
            Assert.Equal(PrefaceMatch.NeedMore, Http2Preface.Match(new ReadOnlySequence<byte>(Preface, 0, n)));
        byte[] withSettings = [.. Preface, 0, 0, 0, 4, 0, 0, 0, 0, 0];
        Assert.Equal(PrefaceMatch.Match, Http2Preface.Match(new ReadOnlySequence<byte>(withSettings)));
        Assert.Equal(PrefaceMatch.Match, Http2Preface.Match(BytePerSegment(withSettings)));
        for (int at = 0; at <= withSettings.Length; at++) Assert.Equal(PrefaceMatch.Match, Http2Preface.Match(Split(withSettings, at)));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("POST")]
    [InlineData("PRI * HTTP/1.1\r\n")]
    [InlineData("PRI * HTTP/2.0\rX")]
    [InlineData("pri")]
    public void Anything_else_mismatches_at_its_first_differing_byte(string input)
    {
        Assert.Equal(PrefaceMatch.Mismatch, Http2Preface.Match(BytePerSegment(Ascii(input))));
        for (int at = 0; at <= input.Length; at++) Assert.Equal(PrefaceMatch.Mismatch, Http2Preface.Match(Split(Ascii(input), at)));
    }

    [Theory]
    [InlineData("PRI * HTTP/2.0\r\nX")] // right after the request line
    [InlineData("PRI * HTTP/2.0\r\n\r\nXX")]
    [InlineData("PRI * HTTP/2.0\r\n\r\nSM\r\n\rX")] // the last octet
    [InlineData("PRI * HTTP/2.0\r\nHost: x\r\n\r\n")]
    public void A_preface_that_diverges_after_its_request_line_is_invalid(string input)
    {
        Assert.Equal(PrefaceMatch.Invalid, Http2Preface.Match(BytePerSegment(Ascii(input))));
        for (int at = 0; at <= input.Length; at++) Assert.Equal(PrefaceMatch.Invalid, Http2Preface.Match(Split(Ascii(input), at)));
    }
}
