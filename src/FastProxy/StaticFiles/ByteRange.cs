namespace FastProxy.StaticFiles;

public enum RangeKind : byte
{
    /// <summary>No Range, or one this server ignores (another unit, bad syntax: RFC 9110 §14.2 says ignore it): 200 whole.</summary>
    None = 0,
    /// <summary>One satisfiable range: 206 with Content-Range.</summary>
    Single,
    /// <summary>Several ranges: served whole (200), not as multipart/byteranges (allowed: a server may ignore Range).</summary>
    Multiple,
    /// <summary>The one range asked for starts past the end (or is an empty suffix): 416 with "bytes */size".</summary>
    Unsatisfiable,
}

/// <summary>The Range request header (RFC 9110 §14.1.2), "bytes=" with one range, over a representation of known length.</summary>
internal static class ByteRange
{
    /// <summary>Parses <paramref name="value"/> against a representation of <paramref name="size"/> octets.</summary>
    public static RangeKind Parse(ReadOnlySpan<byte> value, long size, out long start, out long length)
    {
        start = 0;
        length = 0;
        value = Trim(value);
        // §14.1.2: ranges-specifier = range-unit "=" range-set; the unit is case-insensitive.
        if (value.Length < 6 || !System.Text.Ascii.EqualsIgnoreCase(value[..6], "bytes="u8)) return RangeKind.None;
        var set = value[6..];
        if (set.Contains((byte)',')) return RangeKind.Multiple;
        set = Trim(set);
        int dash = set.IndexOf((byte)'-');
        if (dash < 0) return RangeKind.None;
        var first = set[..dash];
        var last = set[(dash + 1)..];
        if (first.IsEmpty)
        {
            // suffix-range = "-" suffix-length: the last N octets.
            if (!TryNumber(last, out long suffix)) return RangeKind.None;
            if (suffix == 0 || size == 0) return RangeKind.Unsatisfiable;
            start = Math.Max(0, size - suffix);
            length = size - start;
            return RangeKind.Single;
        }
        if (!TryNumber(first, out long from)) return RangeKind.None;
        long to = long.MaxValue;
        if (!last.IsEmpty)
        {
            if (!TryNumber(last, out to)) return RangeKind.None;
            // §14.1.1: a last-pos below first-pos makes the range invalid: the field is ignored.
            if (to < from) return RangeKind.None;
        }
        if (from >= size) return RangeKind.Unsatisfiable;
        start = from;
        length = Math.Min(to, size - 1) - from + 1;
        return RangeKind.Single;
    }

    private static bool TryNumber(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        // 18 digits cannot overflow a long.
        if (digits.IsEmpty || digits.Length > 18) return false;
        foreach (byte b in digits)
        {
            if ((uint)(b - '0') > 9) return false;
            value = value * 10 + (b - '0');
        }
        return true;
    }

    internal static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> s)
    {
        int a = 0, b = s.Length;
        while (a < b && s[a] is (byte)' ' or (byte)'\t') a++;
        while (b > a && s[b - 1] is (byte)' ' or (byte)'\t') b--;
        return s[a..b];
    }
}
