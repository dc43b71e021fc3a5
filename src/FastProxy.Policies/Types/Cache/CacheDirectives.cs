using System.Buffers.Text;
using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cache;

/// <summary>What a response's head says about storing it (RFC 9111 §5.2.2, RFC 5861), read once when it is considered.</summary>
internal struct ResponseDirectives
{
    public bool NoStore, NoCache, Private, Public, MustRevalidate, HasSetCookie, VaryStar;
    /// <summary>-1: not given.</summary>
    public long MaxAge, SMaxAge, StaleWhileRevalidate, StaleIfError, Age;
    public DateTimeOffset? Date, Expires, LastModified;
    public bool HasETag;
    public bool Encoded;

    public static ResponseDirectives Read(ResponseView response)
    {
        var d = new ResponseDirectives { MaxAge = -1, SMaxAge = -1, StaleWhileRevalidate = -1, StaleIfError = -1, Age = -1 };
        bool expiresInvalid = false;
        for (int i = 0; i < response.HeaderCount; i++)
        {
            var name = response.HeaderName(i);
            var value = response.HeaderValue(i);
            if (Ascii.EqualsIgnoreCase(name, "cache-control"u8)) d.ReadCacheControl(value);
            else if (Ascii.EqualsIgnoreCase(name, "set-cookie"u8)) d.HasSetCookie = true;
            else if (Ascii.EqualsIgnoreCase(name, "etag"u8)) d.HasETag = true;
            else if (Ascii.EqualsIgnoreCase(name, "date"u8)) d.Date = HttpDates.Parse(value);
            else if (Ascii.EqualsIgnoreCase(name, "last-modified"u8)) d.LastModified = HttpDates.Parse(value);
            else if (Ascii.EqualsIgnoreCase(name, "expires"u8))
            {
                // An invalid Expires (e.g. "0") means already expired (RFC 9111 §5.3).
                d.Expires = HttpDates.Parse(value);
                if (d.Expires is null) expiresInvalid = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "age"u8))
            {
                if (Utf8Parser.TryParse(value.Trim(" \t"u8), out long age, out int used) && used == value.Trim(" \t"u8).Length && age >= 0) d.Age = age;
            }
            else if (Ascii.EqualsIgnoreCase(name, "vary"u8))
            {
                foreach (var token in new TokenList(value)) if (token.SequenceEqual("*"u8)) d.VaryStar = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "content-encoding"u8))
            {
                var coding = value.Trim(" \t"u8);
                if (!coding.IsEmpty && !Ascii.EqualsIgnoreCase(coding, "identity"u8)) d.Encoded = true;
            }
        }
        if (expiresInvalid && d.Expires is null) d.Expires = DateTimeOffset.MinValue;
        return d;
    }

    private void ReadCacheControl(ReadOnlySpan<byte> value)
    {
        foreach (var directive in new TokenList(value))
        {
            int eq = directive.IndexOf((byte)'=');
            var name = (eq < 0 ? directive : directive[..eq]).Trim(" \t"u8);
            var arg = eq < 0 ? default : directive[(eq + 1)..].Trim(" \t"u8).Trim((byte)'"');
            if (Ascii.EqualsIgnoreCase(name, "no-store"u8)) NoStore = true;
            // no-cache="field" and private="field" are read as the bare directives: stricter, never wrong.
            else if (Ascii.EqualsIgnoreCase(name, "no-cache"u8)) NoCache = true;
            else if (Ascii.EqualsIgnoreCase(name, "private"u8)) Private = true;
            else if (Ascii.EqualsIgnoreCase(name, "public"u8)) Public = true;
            else if (Ascii.EqualsIgnoreCase(name, "must-revalidate"u8) || Ascii.EqualsIgnoreCase(name, "proxy-revalidate"u8)) MustRevalidate = true;
            else if (Ascii.EqualsIgnoreCase(name, "max-age"u8)) MaxAge = Seconds(arg, MaxAge);
            else if (Ascii.EqualsIgnoreCase(name, "s-maxage"u8)) SMaxAge = Seconds(arg, SMaxAge);
            else if (Ascii.EqualsIgnoreCase(name, "stale-while-revalidate"u8)) StaleWhileRevalidate = Seconds(arg, StaleWhileRevalidate);
            else if (Ascii.EqualsIgnoreCase(name, "stale-if-error"u8)) StaleIfError = Seconds(arg, StaleIfError);
        }
    }

    /// <summary>A delta-seconds argument; an invalid one counts as 0 (RFC 9111 §1.2.2: the most restrictive reading).</summary>
    private static long Seconds(ReadOnlySpan<byte> arg, long previous)
    {
        if (Utf8Parser.TryParse(arg, out long seconds, out int used) && used == arg.Length && seconds >= 0) return Math.Min(seconds, int.MaxValue);
        if (arg.Length > 0 && arg.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0) return int.MaxValue; // too many digits
        return previous >= 0 ? Math.Min(previous, 0) : 0;
    }
}

/// <summary>Comma-separated list elements, trimmed, empty ones skipped (no allocation).</summary>
internal ref struct TokenList(ReadOnlySpan<byte> value)
{
    private ReadOnlySpan<byte> _rest = value;

    public ReadOnlySpan<byte> Current { get; private set; }

    public readonly TokenList GetEnumerator() => this;

    public bool MoveNext()
    {
        while (!_rest.IsEmpty)
        {
            int comma = _rest.IndexOf((byte)',');
            var item = (comma < 0 ? _rest : _rest[..comma]).Trim(" \t"u8);
            _rest = comma < 0 ? default : _rest[(comma + 1)..];
            if (!item.IsEmpty)
            {
                Current = item;
                return true;
            }
        }
        return false;
    }
}

internal static class HttpDates
{
    /// <summary>An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); null when it is not one.</summary>
    public static DateTimeOffset? Parse(ReadOnlySpan<byte> value)
    {
        value = value.Trim(" \t"u8);
        return Utf8Parser.TryParse(value, out DateTimeOffset date, out int used, 'R') && used == value.Length ? date : null;
    }
}

/// <summary>
/// Accept-Encoding reduced to the codings a client takes (q > 0): clients that differ only in order, spaces or
/// q-values share a variant, and a compressed variant never goes to a client that did not ask for it.
/// </summary>
internal static class AcceptEncoding
{
    public const int Gzip = 1, Br = 2, Zstd = 4, Deflate = 8, Compress = 16, Any = 128;

    public static int Normalize(PolicyContext context)
    {
        int flags = 0;
        for (int i = context.FindHeader("accept-encoding"u8); i >= 0; i = context.FindHeader("accept-encoding"u8, i + 1))
        {
            flags |= Normalize(context.HeaderValue(i));
        }
        return flags;
    }

    public static int Normalize(ReadOnlySpan<byte> value)
    {
        int flags = 0;
        foreach (var item in new TokenList(value))
        {
            int semi = item.IndexOf((byte)';');
            var coding = (semi < 0 ? item : item[..semi]).Trim(" \t"u8);
            if (semi >= 0 && IsZeroQ(item[(semi + 1)..])) continue;
            if (Ascii.EqualsIgnoreCase(coding, "gzip"u8) || Ascii.EqualsIgnoreCase(coding, "x-gzip"u8)) flags |= Gzip;
            else if (Ascii.EqualsIgnoreCase(coding, "br"u8)) flags |= Br;
            else if (Ascii.EqualsIgnoreCase(coding, "zstd"u8)) flags |= Zstd;
            else if (Ascii.EqualsIgnoreCase(coding, "deflate"u8)) flags |= Deflate;
            else if (Ascii.EqualsIgnoreCase(coding, "compress"u8) || Ascii.EqualsIgnoreCase(coding, "x-compress"u8)) flags |= Compress;
            else if (coding.SequenceEqual("*"u8)) flags |= Any;
        }
        return flags;
    }

    private static bool IsZeroQ(ReadOnlySpan<byte> parameters)
    {
        var p = parameters.Trim(" \t"u8);
        if (p.Length < 2 || (p[0] | 0x20) != 'q' || p[1] != '=') return false;
        var q = p[2..].Trim(" \t"u8);
        if (q.IsEmpty || q[0] != '0') return false;
        foreach (var c in q[1..]) if (c is not ((byte)'.' or (byte)'0')) return false;
        return true;
    }
}
