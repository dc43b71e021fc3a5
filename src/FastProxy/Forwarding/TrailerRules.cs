using System.Buffers;
using System.Text;
using FastProxy.Http1;
using FastProxy.Http2.HPack;

namespace FastProxy.Forwarding;

/// <summary>
/// Which trailer fields of an HTTP/1.1 response go on to an HTTP/2 client. Dropped: the connection-specific fields
/// HTTP/2 forbids everywhere (RFC 9113 §8.2.2), and the fields RFC 9110 §6.5.1 says a sender must not put in
/// trailers because they control framing, routing, authentication, caching or how the content is read (a recipient
/// could only misuse them there). The list is Go net/http's "bad trailer" set plus §6.5.1's response-control
/// examples. Everything else (grpc-status, grpc-message, checksums, server timing) passes. An HTTP/1.1 client gets
/// the trailer section as the upstream sent it, in chunked framing, untouched.
/// </summary>
internal static class TrailerRules
{
    /// <summary>Longer names are dropped rather than given a buffer (as the response head's conversion does).</summary>
    public const int MaxNameLength = 256;

    private static readonly string[] s_dropped =
    [
        // §8.2.2: connection-specific.
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
        // §6.5.1: framing and routing.
        "content-length", "host", "trailer",
        // Request modifiers and authentication.
        "authorization", "proxy-authenticate", "proxy-authorization", "www-authenticate", "set-cookie", "cookie",
        "cache-control", "expect", "max-forwards", "pragma", "range",
        // Response control data.
        "age", "expires", "date", "location", "retry-after", "vary", "warning",
        // How the content is to be processed.
        "content-encoding", "content-type", "content-range",
    ];

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> s_lookup =
        new HashSet<string>(s_dropped, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Lowercases <paramref name="name"/> into <paramref name="into"/>; false when it does not fit.</summary>
    public static bool TryLower(ReadOnlySpan<byte> name, Span<byte> into, out int length)
    {
        length = 0;
        return name.Length <= into.Length && Ascii.ToLower(name, into, out length) == OperationStatus.Done;
    }

    /// <summary>True when the (lowercase) field may be sent as an HTTP/2 trailer.</summary>
    public static bool Forwards(ReadOnlySpan<byte> lowercaseName)
    {
        // The longest dropped name is 19 characters; names are tokens (ASCII), so a char copy is exact.
        if (lowercaseName.Length > 19) return true;
        Span<char> chars = stackalloc char[lowercaseName.Length];
        for (int i = 0; i < chars.Length; i++) chars[i] = (char)lowercaseName[i];
        return !s_lookup.Contains(chars);
    }

    /// <summary>A field block large enough for what <see cref="TryEncode"/> makes of <paramref name="lines"/>.</summary>
    public static int BlockLength(ReadOnlySpan<byte> lines) => lines.Length + 64 + 16 * TrailerFields.Count(lines);

    /// <summary>
    /// HPACK-encodes the trailer section's fields that HTTP/2 may carry (names lowercased, §8.2.1) after the block's
    /// start, which the caller has written. <paramref name="any"/>: at least one field went in.
    /// </summary>
    public static bool TryEncode(HPackEncoder encoder, ReadOnlySpan<byte> lines, Span<byte> block, ref int written, out bool any)
    {
        any = false;
        Span<byte> name = stackalloc byte[MaxNameLength];
        var fields = new TrailerFields(lines);
        while (fields.TryRead(out var raw, out var value))
        {
            if (!TryLower(raw, name, out int n) || !Forwards(name[..n])) continue;
            // grpc-status takes a handful of values and ends every gRPC response: worth a table entry; the rest
            // (messages, checksums) mostly differ each time.
            var indexing = name[..n].SequenceEqual("grpc-status"u8) ? HPackIndexing.Incremental : HPackIndexing.Without;
            if (!encoder.TryEncode(name[..n], value, indexing, block, ref written)) return false;
            any = true;
        }
        return true;
    }
}
