namespace FastProxy.ProxyProtocol;

public static partial class ProxyHeaderParser
{
    private const byte Cr = (byte)'\r';
    private const byte Lf = (byte)'\n';
    private const byte Space = (byte)' ';

    /// <summary>§2.1: the proxied protocol and family, each followed by exactly one space.</summary>
    private static ReadOnlySpan<byte> Tcp4 => "TCP4 "u8;
    private static ReadOnlySpan<byte> Tcp6 => "TCP6 "u8;
    /// <summary>§2.1: "the rest of the line before the CRLF may be omitted ... the receiver must ignore anything presented before the CRLF".</summary>
    private static ReadOnlySpan<byte> Unknown => "UNKNOWN"u8;

    /// <summary>What may appear in a TCP4/TCP6 line's fields: digits and hex letters, dots, colons and the separating spaces.</summary>
    private static ReadOnlySpan<byte> AddressCharacters => "0123456789abcdefABCDEF.: "u8;

    /// <summary>
    /// Version 1 (§2.1): "PROXY" SP ( "TCP4" | "TCP6" ) SP src SP dst SP sport SP dport CRLF, or "PROXY UNKNOWN" with
    /// anything up to the CRLF; at most 107 bytes.
    /// </summary>
    private static ProxyParseStatus ParseV1(ReadOnlySpan<byte> input, out ProxyHeader header, out int length, out ProxyHeaderError error)
    {
        header = default;
        length = 0;
        error = ProxyHeaderError.None;
        if (!StartsLike(input, V1Prefix)) return Fail(ProxyHeaderError.NotProxyProtocol, out error);
        if (input.Length <= V1Prefix.Length) return ProxyParseStatus.NeedMore;

        // "If the CRLF sequence is not found in the first 107 characters, the receiver should declare the line invalid."
        var window = input[..Math.Min(input.Length, V1MaxLength)];
        int lf = window.IndexOf(Lf);
        if (lf < 0)
        {
            // Not whole yet. A CR may end what has arrived (its LF still on the way); anywhere else it is a bare CR.
            var partial = window[V1Prefix.Length..];
            if (partial.Length > 0 && partial[^1] == Cr) partial = partial[..^1];
            if (partial.Contains(Cr)) return Fail(ProxyHeaderError.V1BareCrOrLf, out error);
            var early = CheckV1Start(partial);
            if (early != ProxyHeaderError.None) return Fail(early, out error);
            return window.Length == V1MaxLength ? Fail(ProxyHeaderError.V1LineTooLong, out error) : ProxyParseStatus.NeedMore;
        }
        // "The receiver must not tolerate a single CR or LF character to end the line." (The prefix check put lf past 6.)
        if (input[lf - 1] != Cr) return Fail(ProxyHeaderError.V1BareCrOrLf, out error);
        var line = input[V1Prefix.Length..(lf - 1)];
        if (line.Contains(Cr)) return Fail(ProxyHeaderError.V1BareCrOrLf, out error);
        var start = CheckV1Start(line);
        if (start != ProxyHeaderError.None) return Fail(start, out error);

        var status = ParseV1Line(line, out header, out error);
        if (status == ProxyParseStatus.Complete) length = lf + 1;
        return status;
    }

    /// <summary>
    /// What can be checked of a line before its CRLF (the protocol word, the characters of the fields): a line is
    /// refused as soon as no valid one can begin this way, so a peer sending anything else learns it at once rather
    /// than at header_timeout. Whole lines pass here too, so a reason does not depend on how the bytes arrived.
    /// </summary>
    private static ProxyHeaderError CheckV1Start(ReadOnlySpan<byte> partial)
    {
        if (partial.StartsWith(Unknown))
        {
            // Then a space and anything, or the CRLF.
            return partial.Length == Unknown.Length || partial[Unknown.Length] == Space ? ProxyHeaderError.None : ProxyHeaderError.V1UnknownProtocol;
        }
        if (StartsLike(partial, Unknown)) return ProxyHeaderError.None;
        if (!StartsLike(partial, Tcp4) && !StartsLike(partial, Tcp6)) return ProxyHeaderError.V1UnknownProtocol;
        if (partial.Length <= Tcp4.Length) return ProxyHeaderError.None;
        return partial[Tcp4.Length..].IndexOfAnyExcept(AddressCharacters) < 0 ? ProxyHeaderError.None : ProxyHeaderError.V1InvalidCharacter;
    }

    /// <summary>A whole line, without "PROXY " and without its CRLF.</summary>
    private static ProxyParseStatus ParseV1Line(ReadOnlySpan<byte> line, out ProxyHeader header, out ProxyHeaderError error)
    {
        header = default;
        error = ProxyHeaderError.None;
        if (line.StartsWith(Unknown))
        {
            if (line.Length > Unknown.Length && line[Unknown.Length] != Space) return Fail(ProxyHeaderError.V1UnknownProtocol, out error);
            // "The receiver ... SHOULD accept the connection and use the real connection's parameters."
            header = new ProxyHeader(1, ProxyCommand.Proxy, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified, 0, 0, 0, 0);
            return ProxyParseStatus.Complete;
        }
        bool v6;
        if (line.StartsWith(Tcp4)) v6 = false;
        else if (line.StartsWith(Tcp6)) v6 = true;
        else return Fail(line.Length == 4 && (line.SequenceEqual("TCP4"u8) || line.SequenceEqual("TCP6"u8))
            ? ProxyHeaderError.V1InvalidFields : ProxyHeaderError.V1UnknownProtocol, out error);

        // Exactly four fields, separated by exactly one space each: an empty field is a doubled or trailing space.
        var fields = line[Tcp4.Length..];
        Span<Range> parts = stackalloc Range[4];
        int count = 0;
        foreach (var part in fields.Split(Space))
        {
            if (count == 4 || part.Start.Value == part.End.Value) return Fail(ProxyHeaderError.V1InvalidFields, out error);
            parts[count++] = part;
        }
        if (count != 4) return Fail(ProxyHeaderError.V1InvalidFields, out error);

        // "The advertised protocol family dictates what format to use" for both addresses.
        UInt128 source, destination;
        if (v6)
        {
            if (!TryParseIPv6(fields[parts[0]], out source) || !TryParseIPv6(fields[parts[1]], out destination))
                return Fail(ProxyHeaderError.V1InvalidAddress, out error);
        }
        else
        {
            if (!TryParseIPv4(fields[parts[0]], out uint s4) || !TryParseIPv4(fields[parts[1]], out uint d4))
                return Fail(ProxyHeaderError.V1InvalidAddress, out error);
            source = s4;
            destination = d4;
        }
        if (!TryParsePort(fields[parts[2]], out ushort sourcePort) || !TryParsePort(fields[parts[3]], out ushort destinationPort))
            return Fail(ProxyHeaderError.V1InvalidPort, out error);

        header = new ProxyHeader(1, ProxyCommand.Proxy, v6 ? ProxyAddressFamily.Inet6 : ProxyAddressFamily.Inet, ProxyTransport.Stream,
            source, destination, sourcePort, destinationPort);
        return ProxyParseStatus.Complete;
    }

    /// <summary>
    /// §2.1: "exactly 4 integers in the range [0..255] inclusive written in decimal representation separated by exactly
    /// one dot ... Heading zeroes are not permitted" (an octal reading of "010" would name another host).
    /// </summary>
    internal static bool TryParseIPv4(ReadOnlySpan<byte> text, out uint value)
    {
        value = 0;
        int i = 0;
        for (int part = 0; part < 4; part++)
        {
            if (part > 0)
            {
                if (i >= text.Length || text[i] != (byte)'.') return false;
                i++;
            }
            int start = i, number = 0;
            while (i < text.Length && i - start < 3 && char.IsAsciiDigit((char)text[i]))
            {
                number = number * 10 + (text[i] - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || number > 255 || (digits > 1 && text[start] == (byte)'0')) return false;
            value = (value << 8) | (uint)number;
        }
        return i == text.Length;
    }

    /// <summary>
    /// §2.1: groups of up to 4 hex digits separated by colons, one "::" at most for a run of zero groups, 128 bits in
    /// all. A dotted IPv4 tail ("::ffff:192.0.2.1") is accepted too: HAProxy and others format addresses with
    /// inet_ntop, which writes IPv4-mapped addresses that way. No zone index, no brackets.
    /// </summary>
    internal static bool TryParseIPv6(ReadOnlySpan<byte> text, out UInt128 value)
    {
        value = 0;
        Span<ushort> groups = stackalloc ushort[8];
        int count = 0, gap = -1, i = 0;
        if (text.Length < 2) return false;
        if (text[0] == (byte)':')
        {
            if (text[1] != (byte)':') return false;
            gap = 0;
            i = 2;
        }
        while (i < text.Length)
        {
            int start = i, group = 0;
            while (i < text.Length && i - start < 4 && char.IsAsciiHexDigit((char)text[i]))
            {
                group = (group << 4) | HexValue(text[i]);
                i++;
            }
            if (i == start) return false;
            if (i < text.Length && text[i] == (byte)'.')
            {
                // The last 32 bits as a dotted IPv4 address.
                if (count > 6 || !TryParseIPv4(text[start..], out uint v4)) return false;
                groups[count++] = (ushort)(v4 >> 16);
                groups[count++] = (ushort)v4;
                break;
            }
            if (count == 8) return false;
            groups[count++] = (ushort)group;
            if (i == text.Length) break;
            if (text[i] != (byte)':') return false;
            i++;
            if (i < text.Length && text[i] == (byte)':')
            {
                if (gap >= 0) return false;
                gap = count;
                i++;
            }
            else if (i == text.Length)
            {
                return false; // a single trailing colon
            }
        }
        // Without "::" exactly eight groups; with it, it stands for at least one.
        if (gap < 0 ? count != 8 : count > 7) return false;
        int zeros = gap < 0 ? 0 : 8 - count;
        for (int g = 0; g < count; g++)
        {
            if (g == gap) value <<= 16 * zeros;
            value = (value << 16) | groups[g];
        }
        if (gap == count) value <<= 16 * zeros;
        return true;
    }

    /// <summary>§2.1: "a decimal integer in the range [0..65535] inclusive. Heading zeroes are not permitted."</summary>
    internal static bool TryParsePort(ReadOnlySpan<byte> text, out ushort port)
    {
        port = 0;
        if (text.IsEmpty || text.Length > 5 || (text.Length > 1 && text[0] == (byte)'0')) return false;
        int value = 0;
        foreach (byte b in text)
        {
            if (!char.IsAsciiDigit((char)b)) return false;
            value = value * 10 + (b - '0');
        }
        if (value > ushort.MaxValue) return false;
        port = (ushort)value;
        return true;
    }

    private static int HexValue(byte b) => b <= (byte)'9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
