using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Policies.ClientIdentity;

/// <summary>
/// An IP address as a number, for matching without allocation: IPv4 is kept as IPv4 (IPv4-mapped IPv6 addresses are
/// converted), in the low 32 bits.
/// </summary>
public readonly record struct IpValue(UInt128 Bits, bool IsV4)
{
    public static IpValue From(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return written == 4
            ? new IpValue(BinaryPrimitives.ReadUInt32BigEndian(bytes), true)
            : new IpValue(BinaryPrimitives.ReadUInt128BigEndian(bytes), false);
    }

    public IPAddress ToAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        if (IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)Bits);
            return new IPAddress(bytes[..4]);
        }
        BinaryPrimitives.WriteUInt128BigEndian(bytes, Bits);
        return new IPAddress(bytes);
    }

    /// <summary>Network byte order: 4 bytes for IPv4, 16 for IPv6. Returns the count.</summary>
    public int WriteBytes(Span<byte> destination)
    {
        if (IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Bits);
            return 4;
        }
        BinaryPrimitives.WriteUInt128BigEndian(destination, Bits);
        return 16;
    }

    /// <summary>
    /// The address as text (dotted IPv4; IPv6 in RFC 5952 form: lower case, no leading zeros, the longest run of two
    /// or more zero groups as "::"), without allocating. Returns the length; <paramref name="destination"/> needs 45 bytes.
    /// </summary>
    public int Format(Span<byte> destination)
    {
        int w = 0;
        if (IsV4)
        {
            uint v = (uint)Bits;
            for (int i = 3; i >= 0; i--)
            {
                System.Buffers.Text.Utf8Formatter.TryFormat((v >> (i * 8)) & 0xFF, destination[w..], out int n);
                w += n;
                if (i > 0) destination[w++] = (byte)'.';
            }
            return w;
        }
        Span<ushort> groups = stackalloc ushort[8];
        for (int i = 0; i < 8; i++) groups[i] = (ushort)(Bits >> ((7 - i) * 16));
        int bestStart = -1, bestLength = 1;
        for (int i = 0; i < 8;)
        {
            if (groups[i] != 0) { i++; continue; }
            int start = i;
            while (i < 8 && groups[i] == 0) i++;
            if (i - start > bestLength) { bestStart = start; bestLength = i - start; }
        }
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                destination[w++] = (byte)':';
                if (i == 0) destination[w++] = (byte)':';
                i += bestLength - 1;
                continue;
            }
            System.Buffers.Text.Utf8Formatter.TryFormat(groups[i], destination[w..], out int n, new System.Buffers.StandardFormat('x'));
            w += n;
            if (i < 7) destination[w++] = (byte)':';
        }
        return w;
    }

    public AddressFamily Family => IsV4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;

    /// <summary>
    /// Parses an address as it appears in X-Forwarded-For or Forwarded: "1.2.3.4", "2001:db8::1", optionally with a
    /// port ("1.2.3.4:80", "[2001:db8::1]:80") or in brackets; surrounding spaces and quotes are ignored.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out IpValue value)
    {
        value = default;
        text = text.Trim(" \t\""u8);
        if (text.IsEmpty || text.Length > 64) return false;
        if (text[0] == (byte)'[')
        {
            // RFC 3986 IP-literal: an IPv6 address in brackets, then nothing or a port.
            int close = text.IndexOf((byte)']');
            if (close < 0 || !IsPortOrNothing(text[(close + 1)..])) return false;
            text = text[1..close];
            if (!text.Contains((byte)':')) return false;
        }
        else if (text.IndexOf((byte)':') is int colon && colon >= 0 && text.LastIndexOf((byte)':') == colon && text.Contains((byte)'.'))
        {
            // IPv4 with a port
            if (!IsPortOrNothing(text[colon..])) return false;
            text = text[..colon];
        }
        Span<char> chars = stackalloc char[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            byte b = text[i];
            if (b >= 0x80) return false;
            chars[i] = (char)b;
        }
        return IpText.TryParse(chars, out value);
    }

    /// <summary>Empty, or ':' and a port number (1 to 5 digits, at most 65535).</summary>
    private static bool IsPortOrNothing(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty) return true;
        if (text[0] != (byte)':' || text.Length is < 2 or > 6) return false;
        int port = 0;
        foreach (var b in text[1..])
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            port = port * 10 + (b - '0');
        }
        return port <= 65535;
    }
}
