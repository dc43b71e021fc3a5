using System.Buffers;

namespace FastProxy.Http2.Frames;

public enum PrefaceMatch : byte
{
    /// <summary>Every byte so far matches the preface, but it is not complete yet.</summary>
    NeedMore,
    /// <summary>The 24-octet client preface is complete.</summary>
    Match,
    /// <summary>A byte differs: this is not HTTP/2 with prior knowledge (maybe HTTP/1.1).</summary>
    Mismatch,
    /// <summary>
    /// The preface's request line came whole, then a byte differs: an HTTP/2 client with a broken preface (no HTTP/1.1
    /// request has the version HTTP/2.0), which is a connection error PROTOCOL_ERROR (§3.4).
    /// </summary>
    Invalid,
}

/// <summary>
/// The client connection preface (RFC 9113 §3.4): "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", then a SETTINGS frame.
/// Chosen so that an HTTP/1.1 server sees a request it cannot serve; a proxy that listens for both can tell them
/// apart from the first bytes, which is how h2c with prior knowledge is detected (§3.3).
/// </summary>
public static class Http2Preface
{
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public const int Length = 24;

    /// <summary>
    /// "PRI * HTTP/2.0\r\n": once these octets have matched, the connection is HTTP/2's (see <see cref="PrefaceMatch.Invalid"/>);
    /// before, a difference may be an HTTP/1.1 request ("PRI /x HTTP/1.1" is one, with an odd method).
    /// </summary>
    public const int RequestLineLength = 16;

    /// <summary>Compares the start of <paramref name="input"/> with the preface without consuming anything.</summary>
    public static PrefaceMatch Match(in ReadOnlySequence<byte> input)
    {
        ReadOnlySpan<byte> preface = ClientPreface;
        int matched = 0;
        foreach (ReadOnlyMemory<byte> segment in input)
        {
            ReadOnlySpan<byte> span = segment.Span;
            int n = Math.Min(span.Length, Length - matched);
            int same = span[..n].CommonPrefixLength(preface.Slice(matched, n));
            if (same < n) return matched + same >= RequestLineLength ? PrefaceMatch.Invalid : PrefaceMatch.Mismatch;
            matched += n;
            if (matched == Length) return PrefaceMatch.Match;
        }
        return PrefaceMatch.NeedMore;
    }
}
