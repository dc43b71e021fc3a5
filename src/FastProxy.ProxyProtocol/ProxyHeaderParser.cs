namespace FastProxy.ProxyProtocol;

/// <summary>
/// The PROXY protocol header at the start of a connection, versions 1 (text) and 2 (binary), as specified in HAProxy's
/// proxy-protocol.txt (section numbers below are that document's). Stateless: each call is given every byte of the
/// connection received so far, from the first, and says whether they hold a whole header, may still become one, or
/// cannot. It never looks past the header's end, so the caller knows exactly how many bytes to take from the socket
/// and leaves what follows (a TLS ClientHello, an HTTP request) untouched.
/// </summary>
/// <remarks>
/// Strict, as §2.1 asks ("any sequence which does not exactly match the protocol must be discarded and cause the
/// receiver to abort the connection"), and early: a byte that no valid header can have is refused when it arrives,
/// not when a length limit is reached, so a client that sends HTTP or TLS to a PROXY port is refused at its first byte.
/// Split by version: <c>.V1</c> (text), <c>.V2</c> (binary).
/// </remarks>
public static partial class ProxyHeaderParser
{
    /// <summary>§2.1: the worst case, "PROXY UNKNOWN" with two full IPv6 addresses and ports, is 107 bytes, CRLF included.</summary>
    public const int V1MaxLength = 107;

    /// <summary>§2.2: signature (12), version and command (1), family and transport (1), length (2).</summary>
    public const int V2FixedLength = 16;

    /// <summary>
    /// The most bytes accepted after the 16 fixed ones (addresses and TLVs). The length field allows 65,535, but the
    /// spec sizes a header to fit one 536-byte segment, and real senders stay well within this: an IPv6 block is
    /// 36 bytes, AF_UNIX 216, and HAProxy's SSL, ALPN, authority and unique-id TLVs or a cloud load balancer's
    /// endpoint id add a few hundred at most. A larger claim is refused rather than read, so a header costs at most
    /// one small buffer per connection.
    /// </summary>
    public const int MaxV2PayloadLength = 4096;

    /// <summary>The longest header of either version accepted: what a reader's buffer must hold.</summary>
    public const int MaxLength = V2FixedLength + MaxV2PayloadLength;

    /// <summary>§2.2: "\r\n\r\n\0\r\nQUIT\n", chosen to make HTTP, TLS, SMTP, FTP and POP servers fail at once.</summary>
    public static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>§2.1: "PROXY" and exactly one space.</summary>
    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>
    /// Reads the header at the start of <paramref name="input"/> (every byte of the connection so far).
    /// <see cref="ProxyParseStatus.Complete"/>: <paramref name="header"/> and its <paramref name="length"/> are set.
    /// <see cref="ProxyParseStatus.Invalid"/>: <paramref name="error"/> says why. <see cref="ProxyParseStatus.NeedMore"/>:
    /// nothing is wrong yet, and every byte of <paramref name="input"/> belongs to the header.
    /// </summary>
    public static ProxyParseStatus TryParse(ReadOnlySpan<byte> input, out ProxyHeader header, out int length, out ProxyHeaderError error)
    {
        header = default;
        length = 0;
        error = ProxyHeaderError.None;
        if (input.IsEmpty) return ProxyParseStatus.NeedMore;
        // §2.2: the two versions are told apart by the first byte: 'P' starts version 1, CR the binary signature.
        return input[0] switch
        {
            (byte)'P' => ParseV1(input, out header, out length, out error),
            0x0D => ParseV2(input, out header, out length, out error),
            _ => Fail(ProxyHeaderError.NotProxyProtocol, out error),
        };
    }

    private static ProxyParseStatus Fail(ProxyHeaderError reason, out ProxyHeaderError error)
    {
        error = reason;
        return ProxyParseStatus.Invalid;
    }

    /// <summary>Whether <paramref name="input"/> and <paramref name="expected"/> agree on their common length.</summary>
    private static bool StartsLike(ReadOnlySpan<byte> input, ReadOnlySpan<byte> expected)
    {
        int n = Math.Min(input.Length, expected.Length);
        return input[..n].SequenceEqual(expected[..n]);
    }
}
