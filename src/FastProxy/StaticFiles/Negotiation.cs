using System.Buffers.Text;

namespace FastProxy.StaticFiles;

/// <summary>Which stored variant a request gets: the file itself, or its precompressed sibling.</summary>
public enum Coding : byte { Identity = 0, Gzip, Brotli, Zstd }

/// <summary>Request header rules for files: Accept-Encoding (RFC 9110 §12.5.3), entity tags (§8.8.3) and dates (§5.6.7).</summary>
internal static class Negotiation
{
    /// <summary>
    /// The best coding the client accepts among those available: the highest q-value wins; on a tie Brotli, then zstd,
    /// then gzip (the order of their usual sizes at rest: files are precompressed once, at high levels, so the bytes
    /// sent are what matters, not the decoder's speed); identity when none is acceptable. "*" stands for codings not
    /// named; "x-gzip" is gzip (§12.5.3).
    /// </summary>
    public static Coding Choose(ReadOnlySpan<byte> acceptEncoding, bool hasBrotli, bool hasGzip, bool hasZstd = false)
    {
        int br = -1, gzip = -1, zstd = -1, any = -1;
        while (!acceptEncoding.IsEmpty)
        {
            int comma = acceptEncoding.IndexOf((byte)',');
            var item = comma < 0 ? acceptEncoding : acceptEncoding[..comma];
            acceptEncoding = comma < 0 ? default : acceptEncoding[(comma + 1)..];
            int semi = item.IndexOf((byte)';');
            var coding = ByteRange.Trim(semi < 0 ? item : item[..semi]);
            int q = semi < 0 ? 1000 : Quality(item[(semi + 1)..]);
            if (System.Text.Ascii.EqualsIgnoreCase(coding, "br"u8)) br = q;
            else if (System.Text.Ascii.EqualsIgnoreCase(coding, "gzip"u8) || System.Text.Ascii.EqualsIgnoreCase(coding, "x-gzip"u8)) gzip = q;
            else if (System.Text.Ascii.EqualsIgnoreCase(coding, "zstd"u8)) zstd = q;
            else if (coding.SequenceEqual("*"u8)) any = q;
        }
        if (br < 0) br = any;
        if (gzip < 0) gzip = any;
        if (zstd < 0) zstd = any;
        if (!hasBrotli) br = 0;
        if (!hasGzip) gzip = 0;
        if (!hasZstd) zstd = 0;
        if (br <= 0 && gzip <= 0 && zstd <= 0) return Coding.Identity;
        if (br >= zstd && br >= gzip) return Coding.Brotli;
        return zstd >= gzip ? Coding.Zstd : Coding.Gzip;
    }

    /// <summary>"q=0.8" (weight = OWS ";" OWS "q=" qvalue) in thousandths; anything unreadable counts as 0 (not acceptable).</summary>
    private static int Quality(ReadOnlySpan<byte> parameters)
    {
        parameters = ByteRange.Trim(parameters);
        if (parameters.Length < 3 || (parameters[0] | 0x20) != 'q' || parameters[1] != '=') return 0;
        var value = parameters[2..];
        if (value.IsEmpty || value.Length > 5) return 0;
        if (value[0] == '1') return 1000;
        if (value[0] != '0') return 0;
        if (value.Length == 1) return 0;
        if (value[1] != '.') return 0;
        int q = 0, scale = 100;
        for (int i = 2; i < value.Length; i++)
        {
            if ((uint)(value[i] - '0') > 9) return 0;
            q += (value[i] - '0') * scale;
            scale /= 10;
        }
        return q;
    }

    /// <summary>
    /// If-None-Match (§13.1.2): "*" or a list of entity tags, compared weakly (W/ ignored) with <paramref name="etag"/>
    /// (the quoted tag, e.g. "\"5f-1a\"").
    /// </summary>
    public static bool NoneMatchHits(ReadOnlySpan<byte> ifNoneMatch, ReadOnlySpan<byte> etag)
    {
        ifNoneMatch = ByteRange.Trim(ifNoneMatch);
        if (ifNoneMatch.SequenceEqual("*"u8)) return true;
        while (!ifNoneMatch.IsEmpty)
        {
            int comma = ifNoneMatch.IndexOf((byte)',');
            var tag = ByteRange.Trim(comma < 0 ? ifNoneMatch : ifNoneMatch[..comma]);
            ifNoneMatch = comma < 0 ? default : ifNoneMatch[(comma + 1)..];
            if (tag.StartsWith("W/"u8)) tag = tag[2..];
            if (tag.SequenceEqual(etag)) return true;
        }
        return false;
    }

    /// <summary>
    /// If-Match (§13.1.1): "*" (the file exists: it does) or a list of entity tags compared strongly with
    /// <paramref name="etag"/>: a weak tag never matches.
    /// </summary>
    public static bool MatchHits(ReadOnlySpan<byte> ifMatch, ReadOnlySpan<byte> etag)
    {
        ifMatch = ByteRange.Trim(ifMatch);
        if (ifMatch.SequenceEqual("*"u8)) return true;
        while (!ifMatch.IsEmpty)
        {
            int comma = ifMatch.IndexOf((byte)',');
            var tag = ByteRange.Trim(comma < 0 ? ifMatch : ifMatch[..comma]);
            ifMatch = comma < 0 ? default : ifMatch[(comma + 1)..];
            if (tag.SequenceEqual(etag)) return true;
        }
        return false;
    }

    /// <summary>
    /// If-Range (§13.1.5): the range applies only when the validator still matches: an entity tag compared strongly (a weak
    /// one never matches), or a date equal to Last-Modified.
    /// </summary>
    public static bool IfRangeHolds(ReadOnlySpan<byte> ifRange, ReadOnlySpan<byte> etag, long mtime)
    {
        ifRange = ByteRange.Trim(ifRange);
        if (ifRange.IsEmpty) return false;
        if (ifRange[0] == '"') return ifRange.SequenceEqual(etag);
        if (ifRange.StartsWith("W/"u8)) return false;
        return TryParseDate(ifRange, out long seconds) && seconds == mtime;
    }

    /// <summary>An HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") as seconds since the epoch.</summary>
    public static bool TryParseDate(ReadOnlySpan<byte> value, out long seconds)
    {
        seconds = 0;
        value = ByteRange.Trim(value);
        if (!Utf8Parser.TryParse(value, out DateTimeOffset date, out int consumed, 'R') || consumed != value.Length) return false;
        seconds = date.ToUnixTimeSeconds();
        return true;
    }
}
