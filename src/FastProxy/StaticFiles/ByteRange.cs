namespace FastProxy.StaticFiles;

public enum RangeKind : byte
{
    /// <summary>No Range, or one this server ignores (another unit, bad syntax: RFC 9110 §14.2 says ignore it; too many ranges, or ranges that add up to more than the file): 200 whole.</summary>
    None = 0,
    /// <summary>One satisfiable range: 206 with Content-Range.</summary>
    Single,
    /// <summary>Several satisfiable ranges: 206 multipart/byteranges (RFC 9110 §14.6), one part per range in the order asked.</summary>
    Multiple,
    /// <summary>No range asked for is satisfiable (each starts past the end, or is an empty suffix): 416 with "bytes */size".</summary>
    Unsatisfiable,
}

/// <summary>The Range request header (RFC 9110 §14.1.2), "bytes=" with one range or several, over a representation of known length.</summary>
internal static class ByteRange
{
    /// <summary>
    /// The most ranges one request may ask for; more and the field is ignored (the whole file, 200): §14.2 lets a
    /// server ignore a Range it finds abusive, and nginx's answer to many small or overlapping ranges is the same.
    /// </summary>
    public const int MaxRanges = 16;

    /// <summary>Parses <paramref name="value"/> against a representation of <paramref name="size"/> octets; several ranges give Multiple (start and length 0).</summary>
    public static RangeKind Parse(ReadOnlySpan<byte> value, long size, out long start, out long length)
    {
        Span<long> ranges = stackalloc long[2 * MaxRanges];
        var kind = ParseSet(value, size, ranges, out _);
        (start, length) = kind == RangeKind.Single ? (ranges[0], ranges[1]) : (0, 0);
        return kind;
    }

    /// <summary>
    /// Parses a range set: the satisfiable ranges, as (start, length) pairs in <paramref name="ranges"/> (room for
    /// <see cref="MaxRanges"/>) in the order asked, and how many. Unsatisfiable ranges among satisfiable ones are left
    /// out (§14.1.2); none satisfiable is Unsatisfiable. Ignored (None): another unit, a malformed range (the whole
    /// field), more than <see cref="MaxRanges"/>, or satisfiable ranges whose lengths add up to more than the file
    /// (overlapping ranges: nginx answers those with the whole file too).
    /// </summary>
    public static RangeKind ParseSet(ReadOnlySpan<byte> value, long size, Span<long> ranges, out int count)
    {
        count = 0;
        value = Trim(value);
        // §14.1.2: ranges-specifier = range-unit "=" range-set; the unit is case-insensitive.
        if (value.Length < 6 || !System.Text.Ascii.EqualsIgnoreCase(value[..6], "bytes="u8)) return RangeKind.None;
        var set = value[6..];
        bool any = false;
        long total = 0;
        while (true)
        {
            int comma = set.IndexOf((byte)',');
            var spec = Trim(comma < 0 ? set : set[..comma]);
            // Empty list elements are allowed (RFC 9110 §5.6.1) and skipped.
            if (!spec.IsEmpty)
            {
                any = true;
                var kind = One(spec, size, out long start, out long length);
                if (kind == RangeKind.None) { count = 0; return RangeKind.None; }
                if (kind == RangeKind.Single)
                {
                    if (count == MaxRanges) { count = 0; return RangeKind.None; }
                    ranges[2 * count] = start;
                    ranges[2 * count + 1] = length;
                    count++;
                    total += length;
                }
            }
            if (comma < 0) break;
            set = set[(comma + 1)..];
        }
        if (!any) return RangeKind.None;
        if (count == 0) return RangeKind.Unsatisfiable;
        if (count > 1 && total > size) { count = 0; return RangeKind.None; }
        return count == 1 ? RangeKind.Single : RangeKind.Multiple;
    }

    /// <summary>One range-spec: Single (satisfiable), Unsatisfiable, or None (malformed).</summary>
    private static RangeKind One(ReadOnlySpan<byte> set, long size, out long start, out long length)
    {
        start = 0;
        length = 0;
        int dash = set.IndexOf((byte)'-');
        if (dash < 0) return RangeKind.None;
        var first = Trim(set[..dash]);
        var last = Trim(set[(dash + 1)..]);
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
