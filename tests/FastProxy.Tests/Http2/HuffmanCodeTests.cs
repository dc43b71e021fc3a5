using FastProxy.Http2.HPack;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>The Huffman code against RFC 7541 Appendix B, and its decoder on every kind of input.</summary>
public sealed class HuffmanCodeTests
{
    // Rows of Appendix B: symbol, "code as hex aligned to LSB", length. Taken from across the table: every length
    // that occurs, first and last symbols of runs, and EOS.
    [Theory]
    [InlineData(0, 0x1ff8, 13)]
    [InlineData(1, 0x7fffd8, 23)]
    [InlineData(9, 0xffffea, 24)]
    [InlineData(10, 0x3ffffffc, 30)]
    [InlineData(31, 0xffffffb, 28)]
    [InlineData(' ', 0x14, 6)]
    [InlineData('!', 0x3f8, 10)]
    [InlineData('#', 0xffa, 12)]
    [InlineData('&', 0xf8, 8)]
    [InlineData('\'', 0x7fa, 11)]
    [InlineData('0', 0x0, 5)]
    [InlineData(':', 0x5c, 7)]
    [InlineData('<', 0x7ffc, 15)]
    [InlineData('\\', 0x7fff0, 19)]
    [InlineData('^', 0x3ffc, 14)]
    [InlineData('z', 0x7b, 7)]
    [InlineData('~', 0x1ffd, 13)]
    [InlineData(127, 0xffffffc, 28)]
    [InlineData(128, 0xfffe6, 20)]
    [InlineData(153, 0x1fffdc, 21)]
    [InlineData(192, 0x3ffffe0, 26)]
    [InlineData(199, 0x1ffffec, 25)]
    [InlineData(203, 0x7ffffde, 27)]
    [InlineData(220, 0xffffffd, 28)]
    [InlineData(249, 0xffffffe, 28)]
    [InlineData(254, 0x7fffff0, 27)]
    [InlineData(255, 0x3ffffee, 26)]
    [InlineData(256, 0x3fffffff, 30)]
    public void Codes_match_appendix_b(int symbol, uint code, int length)
    {
        Assert.Equal(length, HuffmanCode.CodeLength(symbol));
        Assert.Equal(code, HuffmanCode.Code(symbol));
    }

    [Fact]
    public void Lengths_fill_the_code_space_exactly_and_codes_are_prefix_free()
    {
        // Kraft: sum of 2^-len over all 257 symbols is exactly 1 for a complete prefix code.
        long sum = 0;
        for (int s = 0; s <= 256; s++) sum += 1L << (30 - HuffmanCode.CodeLength(s));
        Assert.Equal(1L << 30, sum);
        var seen = new HashSet<(uint, int)>();
        for (int s = 0; s <= 256; s++) Assert.True(seen.Add((HuffmanCode.Code(s), HuffmanCode.CodeLength(s))));
    }

    [Fact]
    public void Every_octet_value_round_trips_alone_and_together()
    {
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        foreach (byte[] input in all.Select(b => new[] { b }).Append(all).Append(all.Reverse().ToArray()))
        {
            var encoded = new byte[HuffmanCode.EncodedLength(input)];
            Assert.Equal(encoded.Length, HuffmanCode.Encode(input, encoded));
            var decoded = new byte[input.Length];
            Assert.Equal(HuffmanStatus.Ok, HuffmanCode.Decode(encoded, decoded, out int written));
            Assert.Equal(input, decoded[..written]);
        }
    }

    [Fact]
    public void Rfc_example_strings_encode_to_the_appendix_c_bytes()
    {
        Assert.Equal("F1E3C2E5F23A6BA0AB90F4FF", Encode("www.example.com"));
        Assert.Equal("A8EB10649CBF", Encode("no-cache"));
        Assert.Equal("25A849E95BA97D7F", Encode("custom-key"));
        Assert.Equal("25A849E95BB8E8B4BF", Encode("custom-value"));
        Assert.Equal("6402", Encode("302"));
        Assert.Equal("9D29AD171863C78F0B97C8E9AE82AE43D3", Encode("https://www.example.com"));
    }

    private static string Encode(string s)
    {
        var output = new byte[64];
        int n = HuffmanCode.Encode(Ascii(s), output);
        return Convert.ToHexString(output, 0, n);
    }

    [Fact]
    public void Decoding_resumes_at_every_split()
    {
        byte[] input = Ascii("Mon, 21 Oct 2013 20:13:21 GMT \x00\xff\x80 ~|{}");
        var encoded = new byte[HuffmanCode.EncodedLength(input)];
        HuffmanCode.Encode(input, encoded);
        for (int at = 0; at <= encoded.Length; at++)
        {
            var output = new byte[input.Length];
            byte state = 0;
            int written = 0;
            Assert.Equal(HuffmanStatus.Ok, HuffmanCode.Decode(encoded.AsSpan(0, at), ref state, output, ref written));
            Assert.Equal(HuffmanStatus.Ok, HuffmanCode.Decode(encoded.AsSpan(at), ref state, output, ref written));
            Assert.True(HuffmanCode.IsValidEnd(state));
            Assert.Equal(input, output[..written]);
        }
    }

    [Fact]
    public void Encoder_reports_a_short_destination()
    {
        Assert.Equal(-1, HuffmanCode.Encode(Ascii("www.example.com"), new byte[11]));
        Assert.Equal(12, HuffmanCode.Encode(Ascii("www.example.com"), new byte[12]));
    }

    [Fact]
    public void Decoder_reports_a_short_destination()
    {
        Assert.Equal(HuffmanStatus.TooLong, HuffmanCode.Decode(Hex("f1e3c2e5f23a6ba0ab90f4ff"), new byte[14], out _));
    }

    [Fact]
    public void Eos_anywhere_is_invalid_even_mid_string()
    {
        // 'a' (00011) + EOS (30 ones) + 'a': 5 + 30 + 5 = 40 bits.
        byte[] wire = Hex("1fffffffff").ToArray();
        wire[4] = 0xE3; // 111 00011: the last 3 bits of EOS, then 'a'
        Assert.Equal(HuffmanStatus.Invalid, HuffmanCode.Decode(wire, new byte[8], out _));
    }
}
