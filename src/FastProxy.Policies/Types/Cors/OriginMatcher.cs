using System.Text;
using FastProxy.Configuration;

namespace FastProxy.Policies.Types.Cors;

/// <summary>
/// Tells whether a request's Origin is one of a cors policy's origins, on the header's bytes: exact origins are compared
/// whole, <c>*.example.com</c> entries by scheme, port and host suffix. Scheme and host compare case-insensitively
/// (RFC 6454 §4 lower-cases both; the port is digits). Nothing is allocated.
/// </summary>
internal sealed class OriginMatcher
{
    private readonly byte[][] _exact;
    private readonly Wildcard[] _wildcards;

    public OriginMatcher(IEnumerable<CorsOrigin> origins)
    {
        var exact = new List<byte[]>();
        var wildcards = new List<Wildcard>();
        foreach (var origin in origins)
        {
            if (origin.Subdomains)
            {
                wildcards.Add(new Wildcard(
                    origin.Scheme is null ? null : Encoding.ASCII.GetBytes(origin.Scheme),
                    Encoding.ASCII.GetBytes("." + origin.Host),
                    origin.Port is null ? [] : Encoding.ASCII.GetBytes(":" + origin.Port)));
                continue;
            }
            foreach (var scheme in origin.Scheme is null ? ["http", "https"] : new[] { origin.Scheme })
            {
                // A scheme-less "example.com:443" is https://example.com and http://example.com:443.
                bool defaultPort = (scheme == "http" && origin.Port == 80) || (scheme == "https" && origin.Port == 443);
                var text = $"{scheme}://{origin.Host}{(origin.Port is null || defaultPort ? "" : ":" + origin.Port)}";
                exact.Add(Encoding.ASCII.GetBytes(text));
            }
        }
        _exact = [.. exact];
        _wildcards = [.. wildcards];
    }

    public bool Matches(ReadOnlySpan<byte> origin)
    {
        foreach (var candidate in _exact)
        {
            if (candidate.Length == origin.Length && Ascii.EqualsIgnoreCase(candidate, origin)) return true;
        }
        if (_wildcards.Length == 0) return false;
        int sep = origin.IndexOf("://"u8);
        if (sep <= 0) return false;
        var scheme = origin[..sep];
        var authority = origin[(sep + 3)..];
        // A wildcard names DNS hosts only, so the last ':' (if any) starts the port.
        int colon = authority.LastIndexOf((byte)':');
        var host = colon < 0 ? authority : authority[..colon];
        var port = colon < 0 ? default : authority[colon..];
        foreach (var w in _wildcards)
        {
            if (!port.SequenceEqual(w.Port)) continue;
            if (w.Scheme is null ? !Ascii.EqualsIgnoreCase(scheme, "https"u8) && !Ascii.EqualsIgnoreCase(scheme, "http"u8)
                : !Ascii.EqualsIgnoreCase(scheme, w.Scheme))
            {
                continue;
            }
            // "*.example.com": at least one label before ".example.com"; not example.com, not evil-example.com.
            if (host.Length <= w.Suffix.Length || !Ascii.EqualsIgnoreCase(host[^w.Suffix.Length..], w.Suffix)) continue;
            if (IsLabels(host[..^w.Suffix.Length])) return true;
        }
        return false;
    }

    /// <summary>One or more host labels ("a", "a.b"): what may stand before the suffix, and nothing else (no '/', '@', empty label).</summary>
    private static bool IsLabels(ReadOnlySpan<byte> prefix)
    {
        if (prefix.IsEmpty || prefix[0] == (byte)'.' || prefix[^1] == (byte)'.') return false;
        byte previous = 0;
        foreach (var b in prefix)
        {
            bool ok = (b | 0x20) is >= (byte)'a' and <= (byte)'z' || b is >= (byte)'0' and <= (byte)'9' || b is (byte)'-' or (byte)'_'
                || (b == (byte)'.' && previous != (byte)'.');
            if (!ok) return false;
            previous = b;
        }
        return true;
    }

    private sealed record Wildcard(byte[]? Scheme, byte[] Suffix, byte[] Port);
}
