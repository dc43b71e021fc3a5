using System.Buffers.Binary;
using System.Net;
using System.Text;
using FastProxy.ProxyProtocol;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderBytes;

namespace FastProxy.Tests.ProxyProtocol;

/// <summary>
/// The PROXY protocol parser on valid headers of both versions (whole, at every prefix, followed by the connection's
/// data) and on malformed ones, each refused with its reason. Malformed headers of version 1 and 2 are in
/// <see cref="ProxyHeaderMalformedTests"/>.
/// </summary>
public sealed class ProxyHeaderParserTests
{
    private static readonly byte[] Request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray();

    public static TheoryData<string> ValidV1 => new()
    {
        "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
        "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
        "PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n",
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
        "PROXY TCP6 2001:db8::1 2001:db8::2 1234 80\r\n",
        "PROXY TCP6 ::1 :: 1 2\r\n",
        "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:192.0.2.2 5 6\r\n",
        "PROXY TCP6 1:2:3:4:5:6:7:: ::2:3:4:5:6:7:8 7 8\r\n",
        "PROXY TCP6 2001:DB8:0:0:0:0:0:1 fe80::1:2 9 10\r\n",
        "PROXY UNKNOWN\r\n",
        "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
    };

    [Theory]
    [MemberData(nameof(ValidV1))]
    public void A_valid_version_1_line_is_complete_with_its_exact_length_and_every_prefix_needs_more(string line)
    {
        var header = V1(line);
        AssertEveryPrefixNeedsMore(header);
        // What follows the header (a request) is never taken as part of it.
        var result = Parse(Concat(header, Request), out var parsed, out int length);
        Assert.Equal(ProxyParseStatus.Complete, result);
        Assert.Equal(header.Length, length);
        Assert.Equal(1, parsed.Version);
        Assert.Equal(ProxyCommand.Proxy, parsed.Command);
    }

    [Fact]
    public void Version_1_addresses_and_ports_are_read()
    {
        Parse(V1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), out var v4, out _);
        Assert.True(v4.NamesClient);
        Assert.Equal(ProxyAddressFamily.Inet, v4.Family);
        Assert.Equal(IPAddress.Parse("192.168.0.1"), Source(v4));
        Assert.Equal((ushort)56324, v4.SourcePort);
        Assert.Equal((ushort)443, v4.DestinationPort);
        Assert.Equal(0xC0A8000Bu, (uint)v4.Destination);

        Parse(V1("PROXY TCP6 2001:db8::1 2001:db8::2 1234 80\r\n"), out var v6, out _);
        Assert.Equal(ProxyAddressFamily.Inet6, v6.Family);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), Source(v6));
        Assert.Equal((ushort)1234, v6.SourcePort);
    }

    [Fact]
    public void Version_1_UNKNOWN_keeps_the_peer()
    {
        Parse(V1("PROXY UNKNOWN\r\n"), out var shortForm, out int length);
        Assert.False(shortForm.NamesClient);
        Assert.Equal(15, length);
        // "The receiver must ignore anything presented before the CRLF."
        Parse(V1("PROXY UNKNOWN whatever \x01 is here\r\n"), out var longForm, out _);
        Assert.False(longForm.NamesClient);
    }

    [Fact]
    public void A_107_byte_line_is_accepted_and_a_108_byte_one_refused()
    {
        // "PROXY UNKNOWN " is 14 bytes, the CRLF 2: 91 more make the 107 the spec's worst case allows.
        var longest = V1("PROXY UNKNOWN " + new string('f', 91) + "\r\n");
        Assert.Equal(107, longest.Length);
        Assert.Equal(ProxyParseStatus.Complete, Parse(longest, out _, out int length));
        Assert.Equal(107, length);

        var tooLong = V1("PROXY UNKNOWN " + new string('f', 92) + "\r\n");
        Assert.Equal(ProxyParseStatus.Invalid, Parse(tooLong, out _, out _, out var error));
        Assert.Equal(ProxyHeaderError.V1LineTooLong, error);
        // Refused at the 107th byte, without waiting for the rest.
        Assert.Equal(ProxyParseStatus.Invalid, Parse(tooLong[..107], out _, out _, out error));
        Assert.Equal(ProxyHeaderError.V1LineTooLong, error);
    }

    [Theory]
    [InlineData("::", "::")]
    [InlineData("::1", "::1")]
    [InlineData("1::", "1::")]
    [InlineData("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8")]
    [InlineData("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0")]
    [InlineData("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8")]
    [InlineData("1::8", "1:0:0:0:0:0:0:8")]
    [InlineData("0001:0db8:00:0::ABCD", "1:db8::abcd")]
    [InlineData("::ffff:10.1.2.3", "::ffff:10.1.2.3")]
    [InlineData("64:ff9b::192.0.2.33", "64:ff9b::c000:221")]
    [InlineData("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304")]
    public void IPv6_text_is_read_as_the_runtime_reads_it(string text, string expected)
    {
        Assert.True(ProxyHeaderParser.TryParseIPv6(Encoding.ASCII.GetBytes(text), out var bits));
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, bits);
        Assert.Equal(IPAddress.Parse(expected), new IPAddress(bytes));
    }

    [Fact]
    public void A_version_2_TCP4_header_is_complete_with_its_exact_length_and_every_prefix_needs_more()
    {
        var header = V2(IPAddress.Parse("203.0.113.7"), IPAddress.Parse("10.0.0.1"), 40000, 8443);
        Assert.Equal(28, header.Length);
        AssertEveryPrefixNeedsMore(header);
        Assert.Equal(ProxyParseStatus.Complete, Parse(Concat(header, Request), out var parsed, out int length));
        Assert.Equal(28, length);
        Assert.Equal(2, parsed.Version);
        Assert.True(parsed.NamesClient);
        Assert.Equal(IPAddress.Parse("203.0.113.7"), Source(parsed));
        Assert.Equal((ushort)40000, parsed.SourcePort);
        Assert.Equal((ushort)8443, parsed.DestinationPort);
    }

    [Fact]
    public void A_version_2_TCP6_header_names_its_client()
    {
        var header = V2(IPAddress.Parse("2001:db8::7"), IPAddress.Parse("2001:db8::1"));
        Assert.Equal(52, header.Length);
        AssertEveryPrefixNeedsMore(header);
        Assert.Equal(ProxyParseStatus.Complete, Parse(Concat(header, Request), out var parsed, out int length));
        Assert.Equal(52, length);
        Assert.Equal(ProxyAddressFamily.Inet6, parsed.Family);
        Assert.Equal(IPAddress.Parse("2001:db8::7"), Source(parsed));
    }

    [Fact]
    public void Version_2_UDP_addresses_name_the_client_too()
    {
        var block = AddressBlock(IPAddress.Parse("198.51.100.9"), IPAddress.Parse("10.0.0.1"), 1, 2);
        Parse(V2(0x21, 0x12, block), out var parsed, out _);
        Assert.True(parsed.NamesClient);
        Assert.Equal(ProxyTransport.Datagram, parsed.Transport);
    }

    public static TheoryData<string, byte[]> KeepThePeer => new()
    {
        // LOCAL: a health check of the sender's own; the block is skipped, the family ignored.
        { "LOCAL, no addresses", V2(0x20, 0x00, []) },
        { "LOCAL with an IPv4 block", V2(0x20, 0x11, AddressBlock(IPAddress.Loopback, IPAddress.Loopback, 1, 2)) },
        { "LOCAL with an unassigned family byte", V2(0x20, 0xFF, [1, 2, 3]) },
        // AF_UNSPEC, or an unspecified transport: "the receiver should ignore address information".
        { "PROXY AF_UNSPEC", V2(0x21, 0x00, []) },
        { "PROXY AF_UNSPEC with bytes", V2(0x21, 0x00, [1, 2, 3, 4, 5]) },
        { "PROXY AF_INET, transport unspecified", V2(0x21, 0x10, AddressBlock(IPAddress.Loopback, IPAddress.Loopback, 1, 2)) },
        // AF_UNIX: paths are no IP client.
        { "PROXY AF_UNIX stream", V2(0x21, 0x31, new byte[216]) },
        { "PROXY AF_UNIX datagram with a TLV", V2(0x21, 0x32, new byte[216], Tlv(0x04, [])) },
    };

    [Theory]
    [MemberData(nameof(KeepThePeer))]
    public void Version_2_headers_that_name_no_IP_client_are_valid_and_keep_the_peer(string what, byte[] header)
    {
        Assert.Equal(ProxyParseStatus.Complete, Parse(Concat(header, Request), out var parsed, out int length));
        Assert.False(parsed.NamesClient, what);
        Assert.Equal(header.Length, length);
        Assert.Equal(0, parsed.WriteSource(new byte[16]));
    }

    [Fact]
    public void Version_2_TLVs_are_skipped()
    {
        var header = V2(IPAddress.Parse("192.0.2.10"), IPAddress.Parse("10.0.0.1"), 1, 2,
            Tlv(0x01, "h2"u8.ToArray()),                       // ALPN
            Tlv(0x02, "api.example.com"u8.ToArray()),          // AUTHORITY (SNI)
            Tlv(0x04, []),                                     // NOOP, empty
            Tlv(0x05, new byte[128]),                          // UNIQUE_ID
            Tlv(0x20, [0x01, 0, 0, 0, 0, 0x21, 0, 3, (byte)'1', (byte)'.', (byte)'3']), // SSL with a version sub-TLV
            Tlv(0xEA, "vpce-0123456789abcdef"u8.ToArray()));   // a cloud load balancer's own
        AssertEveryPrefixNeedsMore(header);
        Assert.Equal(ProxyParseStatus.Complete, Parse(Concat(header, Request), out var parsed, out int length));
        Assert.Equal(header.Length, length);
        Assert.Equal(IPAddress.Parse("192.0.2.10"), Source(parsed));
    }

    [Fact]
    public void The_CRC32C_helper_gives_the_standard_check_value()
    {
        // RFC 3720 B.4 / the CRC catalogue's check: CRC-32C("123456789") = 0xE3069283.
        Assert.Equal(0xE3069283u, ~ProxyHeaderParser.Crc32C(uint.MaxValue, "123456789"u8));
    }

    [Fact]
    public void A_version_2_checksum_is_verified()
    {
        var block = AddressBlock(IPAddress.Parse("192.0.2.44"), IPAddress.Parse("10.0.0.1"), 1, 2);
        var good = WithChecksum(0x21, 0x11, block, Tlv(0x02, "example.com"u8.ToArray()));
        Assert.Equal(ProxyParseStatus.Complete, Parse(good, out var parsed, out _));
        Assert.Equal(IPAddress.Parse("192.0.2.44"), Source(parsed));

        // Any byte changed (here the client address) and the checksum no longer holds: the header is refused.
        var tampered = (byte[])good.Clone();
        tampered[19] ^= 0x01;
        Assert.Equal(ProxyParseStatus.Invalid, Parse(tampered, out _, out _, out var error));
        Assert.Equal(ProxyHeaderError.V2ChecksumMismatch, error);
    }

    [Fact]
    public void The_largest_version_2_header_is_accepted_and_a_larger_claim_refused_from_the_fixed_bytes()
    {
        var block = AddressBlock(IPAddress.Parse("192.0.2.1"), IPAddress.Parse("10.0.0.1"), 1, 2);
        var largest = V2(0x21, 0x11, block, Tlv(0x04, new byte[ProxyHeaderParser.MaxV2PayloadLength - 12 - 3]));
        Assert.Equal(ProxyHeaderParser.MaxLength, largest.Length);
        Assert.Equal(ProxyParseStatus.Complete, Parse(largest, out _, out int length));
        Assert.Equal(ProxyHeaderParser.MaxLength, length);

        // A length field over the bound is refused as soon as it is read, before any of the promised bytes.
        var claim = V2Raw(0x21, 0x11, ProxyHeaderParser.MaxV2PayloadLength + 1, []);
        Assert.Equal(ProxyParseStatus.Invalid, Parse(claim, out _, out _, out var error));
        Assert.Equal(ProxyHeaderError.V2TooLong, error);
        Assert.Equal(ProxyParseStatus.Invalid, Parse(V2Raw(0x21, 0x11, 0xFFFF, []), out _, out _, out error));
        Assert.Equal(ProxyHeaderError.V2TooLong, error);
    }

    [Fact]
    public void Nothing_at_all_needs_more()
    {
        Assert.Equal(ProxyParseStatus.NeedMore, Parse([], out _, out _));
    }

    internal static void AssertEveryPrefixNeedsMore(byte[] header)
    {
        for (int n = 0; n < header.Length; n++)
        {
            var status = ProxyHeaderParser.TryParse(header.AsSpan(0, n), out _, out _, out var error);
            Assert.True(status == ProxyParseStatus.NeedMore, $"prefix of {n} bytes: {status} {error}");
        }
    }

    internal static ProxyParseStatus Parse(byte[] input, out ProxyHeader header, out int length)
        => ProxyHeaderParser.TryParse(input, out header, out length, out _);

    internal static ProxyParseStatus Parse(byte[] input, out ProxyHeader header, out int length, out ProxyHeaderError error)
        => ProxyHeaderParser.TryParse(input, out header, out length, out error);

    private static IPAddress Source(in ProxyHeader header)
    {
        var bytes = new byte[16];
        int n = header.WriteSource(bytes);
        return new IPAddress(bytes.AsSpan(0, n));
    }
}
