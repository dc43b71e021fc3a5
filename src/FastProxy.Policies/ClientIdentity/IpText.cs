using System.Buffers.Binary;

namespace FastProxy.Policies.ClientIdentity;

/// <summary>IPv4 and IPv6 text to <see cref="IpValue"/> without allocating (IPAddress.TryParse returns an object).</summary>
internal static class IpText
{
    public static bool TryParse(ReadOnlySpan<char> text, out IpValue value)
    {
        value = default;
        if (text.IndexOf(':') < 0)
        {
            if (!TryParseV4(text, out uint v4)) return false;
            value = new IpValue(v4, true);
            return true;
        }
        if (!TryParseV6(text, out var v6)) return false;
        // IPv4-mapped (::ffff:a.b.c.d) is the IPv4 client it names.
        value = (v6 >> 32) == 0xFFFF ? new IpValue((uint)v6, true) : new IpValue(v6, false);
        return true;
    }

    private static bool TryParseV4(ReadOnlySpan<char> text, out uint result)
    {
        result = 0;
        int parts = 0;
        while (true)
        {
            int dot = text.IndexOf('.');
            var part = dot < 0 ? text : text[..dot];
            // Decimal only, no leading zeros (010 would be octal to some parsers): the strict reading.
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0')) return false;
            int n = 0;
            foreach (var c in part)
            {
                if (c is < '0' or > '9') return false;
                n = n * 10 + (c - '0');
            }
            if (n > 255) return false;
            result = (result << 8) | (uint)n;
            parts++;
            if (dot < 0) break;
            text = text[(dot + 1)..];
        }
        return parts == 4;
    }

    private static bool TryParseV6(ReadOnlySpan<char> text, out UInt128 result)
    {
        result = 0;
        if (text.IndexOf('%') >= 0) return false; // zone ids never name a remote client
        Span<ushort> groups = stackalloc ushort[8];
        int count = 0, gap = -1;
        int i = 0;
        if (text.StartsWith("::"))
        {
            gap = 0;
            i = 2;
            if (text.Length == 2) { result = 0; return true; }
        }
        while (i < text.Length)
        {
            int end = text[i..].IndexOf(':');
            var part = end < 0 ? text[i..] : text.Slice(i, end);
            if (part.IndexOf('.') >= 0)
            {
                // An embedded IPv4 address ends the text and fills two groups.
                if (end >= 0 || count > 6 || !TryParseV4(part, out uint v4)) return false;
                groups[count++] = (ushort)(v4 >> 16);
                groups[count++] = (ushort)v4;
                i = text.Length;
                break;
            }
            if (part.Length is 0 or > 4 || count == 8) return false;
            int n = 0;
            foreach (var c in part)
            {
                int d = c switch { >= '0' and <= '9' => c - '0', >= 'a' and <= 'f' => c - 'a' + 10, >= 'A' and <= 'F' => c - 'A' + 10, _ => -1 };
                if (d < 0) return false;
                n = n * 16 + d;
            }
            groups[count++] = (ushort)n;
            if (end < 0) { i = text.Length; break; }
            i += end + 1;
            if (i < text.Length && text[i] == ':')
            {
                if (gap >= 0) return false; // "::" twice
                gap = count;
                i++;
                if (i == text.Length) break;
            }
            else if (i == text.Length)
            {
                return false; // trailing single ':'
            }
        }
        if (gap < 0 ? count != 8 : count > 7) return false;
        Span<ushort> full = stackalloc ushort[8];
        if (gap < 0)
        {
            groups.CopyTo(full);
        }
        else
        {
            groups[..gap].CopyTo(full);
            groups[gap..count].CopyTo(full[(8 - (count - gap))..]);
        }
        foreach (var g in full) result = (result << 16) | g;
        return true;
    }
}
