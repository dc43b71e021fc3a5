using System.Net;
using FastProxy.ProxyProtocol;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderBytes;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderParserTests;

namespace FastProxy.Tests.ProxyProtocol;

/// <summary>
/// Malformed PROXY protocol headers: each refused with its reason, and as early as the bytes allow (a client that
/// speaks HTTP or TLS to a PROXY port is refused at its first bytes, not at header_timeout). Then every single-byte
/// change of valid headers and random input, which must never throw nor claim more bytes than it was given.
/// </summary>
public sealed class ProxyHeaderMalformedTests
{
    public static TheoryData<string, ProxyHeaderError> MalformedV1 => new()
    {
        // Not the protocol at all.
        { "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ProxyHeaderError.NotProxyProtocol },
        { "PUT / HTTP/1.1\r\n", ProxyHeaderError.NotProxyProtocol },
        { "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ProxyHeaderError.NotProxyProtocol },
        { "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.NotProxyProtocol },
        { "PROXY\r\n", ProxyHeaderError.NotProxyProtocol },
        { "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.NotProxyProtocol },
        { "\x16\x03\x01\x02\x00\x01", ProxyHeaderError.NotProxyProtocol },
        // The protocol word.
        { "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.V1UnknownProtocol },
        { "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.V1UnknownProtocol },
        { "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.V1UnknownProtocol },
        { "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.V1UnknownProtocol },
        { "PROXY \r\n", ProxyHeaderError.V1UnknownProtocol },
        { "PROXY UNKNOWNX\r\n", ProxyHeaderError.V1UnknownProtocol },
        { "PROXY UNKNOWN\tx\r\n", ProxyHeaderError.V1UnknownProtocol },
        { "PROXY UNKNOW\r\n", ProxyHeaderError.V1UnknownProtocol },
        // Line ends: "must not tolerate a single CR or LF".
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", ProxyHeaderError.V1BareCrOrLf },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", ProxyHeaderError.V1BareCrOrLf },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", ProxyHeaderError.V1BareCrOrLf },
        { "PROXY TCP4 1.2.3.4\r 5.6.7.8 1 2\r\n", ProxyHeaderError.V1BareCrOrLf },
        { "PROXY UNKNOWN \n", ProxyHeaderError.V1BareCrOrLf },
        // Fields: exactly four, single spaces.
        { "PROXY TCP4\r\n", ProxyHeaderError.V1InvalidFields },
        { "PROXY TCP4 \r\n", ProxyHeaderError.V1InvalidFields },
        { "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidFields },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", ProxyHeaderError.V1InvalidFields },
        { "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidFields },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", ProxyHeaderError.V1InvalidFields },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", ProxyHeaderError.V1InvalidFields },
        { "PROXY TCP4 1.2.3.4 5.6.7.8\r\n", ProxyHeaderError.V1InvalidFields },
        // IPv4: exactly four decimals 0-255, no leading zeros (no octal), single dots.
        { "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1.2.3.1000 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1..2.3 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 .1.2.3 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP4 1.2.3.4 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        // IPv6: 128 bits, one "::" at most, groups of up to four hex digits; the family must match.
        { "PROXY TCP6 1.2.3.4 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 ::1 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 :::1 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 1::2::3 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 12345::1 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 1:2:3:4:5:6:7:8:: ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 :1::2 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 1: ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 : ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 ::ffff:1.2.3 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 ::ffff:01.2.3.4 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 1:2:3:4:5:6:7:1.2.3.4 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        { "PROXY TCP6 ::1.2.3.4:5 ::1 1 2\r\n", ProxyHeaderError.V1InvalidAddress },
        // Ports: 0-65535, no leading zeros.
        { "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", ProxyHeaderError.V1InvalidPort },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n", ProxyHeaderError.V1InvalidPort },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n", ProxyHeaderError.V1InvalidPort },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n", ProxyHeaderError.V1InvalidPort },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n", ProxyHeaderError.V1InvalidPort },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2a\r\n", ProxyHeaderError.V1InvalidPort },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 ab\r\n", ProxyHeaderError.V1InvalidPort },
        // Bytes no address can hold, refused before the CRLF.
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n", ProxyHeaderError.V1InvalidCharacter },
        { "PROXY TCP4 0x7f.0.0.1 5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidCharacter },
        { "PROXY TCP6 [::1] ::1 1 2\r\n", ProxyHeaderError.V1InvalidCharacter },
        { "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", ProxyHeaderError.V1InvalidCharacter },
        { "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", ProxyHeaderError.V1InvalidCharacter },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n", ProxyHeaderError.V1InvalidCharacter },
        { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u00e9\r\n", ProxyHeaderError.V1InvalidCharacter },
    };

    [Theory]
    [MemberData(nameof(MalformedV1))]
    public void A_malformed_version_1_line_is_refused_with_its_reason(string line, ProxyHeaderError expected)
    {
        var bytes = V1(line);
        Assert.Equal(ProxyParseStatus.Invalid, Parse(bytes, out _, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Theory]
    [InlineData("G")]
    [InlineData("PRI")]
    [InlineData("PROXY X")]
    [InlineData("PROXY TCP4 1.2.3.4 g")]
    [InlineData("PROXY TCP4 1.2.3.4\r5")]
    [InlineData("PROXY UNKNOWNX")]
    [InlineData("\x16")]
    public void A_start_no_header_can_have_is_refused_before_the_line_ends(string start)
    {
        Assert.Equal(ProxyParseStatus.Invalid, Parse(V1(start), out _, out _));
    }

    [Fact]
    public void A_line_without_a_CRLF_in_107_bytes_is_refused_even_when_every_byte_could_belong_to_one()
    {
        var endless = V1("PROXY TCP6 " + string.Join(":", Enumerable.Repeat("ffff", 24)));
        Assert.True(endless.Length > 107);
        Assert.Equal(ProxyParseStatus.NeedMore, Parse(endless[..106], out _, out _));
        Assert.Equal(ProxyParseStatus.Invalid, Parse(endless, out _, out _, out var error));
        Assert.Equal(ProxyHeaderError.V1LineTooLong, error);
    }

    public static TheoryData<string, byte[], ProxyHeaderError> MalformedV2
    {
        get
        {
            var v4 = AddressBlock(IPAddress.Parse("192.0.2.1"), IPAddress.Parse("10.0.0.1"), 1, 2);
            var data = new TheoryData<string, byte[], ProxyHeaderError>
            {
                { "version 1 in the binary form", V2(0x11, 0x11, v4), ProxyHeaderError.V2InvalidVersion },
                { "version 0", V2(0x01, 0x11, v4), ProxyHeaderError.V2InvalidVersion },
                { "version 3", V2(0x31, 0x11, v4), ProxyHeaderError.V2InvalidVersion },
                { "version 15", V2(0xF1, 0x11, v4), ProxyHeaderError.V2InvalidVersion },
                { "command 2", V2(0x22, 0x11, v4), ProxyHeaderError.V2InvalidCommand },
                { "command 15", V2(0x2F, 0x11, v4), ProxyHeaderError.V2InvalidCommand },
                { "family 4", V2(0x21, 0x41, v4), ProxyHeaderError.V2InvalidFamily },
                { "family 15", V2(0x21, 0xF1, v4), ProxyHeaderError.V2InvalidFamily },
                { "transport 3", V2(0x21, 0x13, v4), ProxyHeaderError.V2InvalidFamily },
                { "transport 15", V2(0x21, 0x1F, v4), ProxyHeaderError.V2InvalidFamily },
                { "AF_INET block of 11 bytes", V2(0x21, 0x11, v4[..11]), ProxyHeaderError.V2AddressBlockTooShort },
                { "AF_INET with no block", V2(0x21, 0x11, []), ProxyHeaderError.V2AddressBlockTooShort },
                { "AF_INET6 block of 35 bytes", V2(0x21, 0x21, new byte[35]), ProxyHeaderError.V2AddressBlockTooShort },
                { "AF_INET6 given an IPv4 block", V2(0x21, 0x21, v4), ProxyHeaderError.V2AddressBlockTooShort },
                { "AF_UNIX block of 215 bytes", V2(0x21, 0x31, new byte[215]), ProxyHeaderError.V2AddressBlockTooShort },
                { "one byte after the block", V2(0x21, 0x11, [.. v4, 0x04]), ProxyHeaderError.V2InvalidTlv },
                { "two bytes after the block", V2(0x21, 0x11, [.. v4, 0x04, 0x00]), ProxyHeaderError.V2InvalidTlv },
                { "a TLV longer than the header", V2(0x21, 0x11, [.. v4, 0x02, 0x00, 0x05, (byte)'a']), ProxyHeaderError.V2InvalidTlv },
                { "a second TLV cut short", V2(0x21, 0x11, v4, Tlv(0x04, [1]), [0x02, 0x00, 0x09, 1, 2]), ProxyHeaderError.V2InvalidTlv },
                { "a CRC32C TLV of 3 bytes", V2(0x21, 0x11, v4, Tlv(0x03, [1, 2, 3])), ProxyHeaderError.V2InvalidTlv },
                { "two CRC32C TLVs", V2(0x21, 0x11, v4, Tlv(0x03, [1, 2, 3, 4]), Tlv(0x03, [1, 2, 3, 4])), ProxyHeaderError.V2InvalidTlv },
                { "a wrong CRC32C", V2(0x21, 0x11, v4, Tlv(0x03, [1, 2, 3, 4])), ProxyHeaderError.V2ChecksumMismatch },
                { "a length over the bound", V2Raw(0x21, 0x11, ProxyHeaderParser.MaxV2PayloadLength + 1, v4), ProxyHeaderError.V2TooLong },
            };
            // The signature, broken at each of its 12 bytes.
            for (int i = 0; i < 12; i++)
            {
                var header = V2(0x21, 0x11, v4);
                header[i] ^= 0x20;
                data.Add($"signature byte {i}", header, ProxyHeaderError.NotProxyProtocol);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(MalformedV2))]
    public void A_malformed_version_2_header_is_refused_with_its_reason(string what, byte[] header, ProxyHeaderError expected)
    {
        Assert.True(ProxyParseStatus.Invalid == Parse(header, out _, out _, out var error), what);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Version_2_is_refused_at_the_byte_that_breaks_it_not_when_the_header_is_whole()
    {
        var v4 = AddressBlock(IPAddress.Parse("192.0.2.1"), IPAddress.Parse("10.0.0.1"), 1, 2);
        // A bad version/command is known at the 13th byte, a bad family at the 14th.
        Assert.Equal(ProxyParseStatus.Invalid, Parse(V2(0x11, 0x11, v4)[..13], out _, out _));
        Assert.Equal(ProxyParseStatus.Invalid, Parse(V2(0x2F, 0x11, v4)[..13], out _, out _));
        Assert.Equal(ProxyParseStatus.Invalid, Parse(V2(0x21, 0x41, v4)[..14], out _, out _));
        Assert.Equal(ProxyParseStatus.Invalid, Parse([0x0D, 0x0A, 0x0D, 0x0A, 0x01], out _, out _));
    }

    [Fact]
    public void Every_single_byte_change_of_valid_headers_is_either_refused_or_a_header_no_longer_than_the_input()
    {
        byte[][] valid =
        [
            V1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
            V1("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n"),
            V1("PROXY UNKNOWN\r\n"),
            V2(IPAddress.Parse("203.0.113.7"), IPAddress.Parse("10.0.0.1"), 1, 2, Tlv(0x02, "a.example"u8.ToArray())),
            V2(IPAddress.Parse("2001:db8::7"), IPAddress.Parse("2001:db8::1")),
            WithChecksum(0x21, 0x11, AddressBlock(IPAddress.Parse("192.0.2.44"), IPAddress.Parse("10.0.0.1"), 1, 2)),
        ];
        int parsed = 0;
        foreach (var header in valid)
        {
            var input = Concat(header, "GET / HTTP/1.1\r\n\r\n"u8.ToArray());
            for (int at = 0; at < header.Length; at++)
            {
                byte original = input[at];
                for (int value = 0; value < 256; value++)
                {
                    input[at] = (byte)value;
                    var status = Parse(input, out _, out int length, out var error);
                    Assert.True(status != ProxyParseStatus.Complete || (length > 0 && length <= input.Length));
                    Assert.True(status != ProxyParseStatus.Invalid || error != ProxyHeaderError.None);
                    parsed++;
                }
                input[at] = original;
            }
        }
        Assert.True(parsed > 40_000);
    }

    [Fact]
    public void Random_input_never_throws()
    {
        var random = new Random(20261207);
        var buffer = new byte[300];
        for (int i = 0; i < 50_000; i++)
        {
            int n = random.Next(buffer.Length);
            random.NextBytes(buffer.AsSpan(0, n));
            // Most random inputs fail at the first byte: make half of them start like a header.
            if (n > 0 && (i & 1) == 0) buffer[0] = (i & 2) == 0 ? (byte)'P' : (byte)0x0D;
            var status = ProxyHeaderParser.TryParse(buffer.AsSpan(0, n), out _, out int length, out _);
            Assert.True(status != ProxyParseStatus.Complete || length <= n);
        }
    }
}
