using System.Buffers.Text;
using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// One stored response: its key (host, path, query, consumer, whether the request carried credentials), the request
/// fields its Vary names as they were, the head's field lines as the client gets them (hop-by-hop, framing, Date and
/// Age left out: the proxy writes those), the body, and its freshness. Immutable once stored (a 304 that refreshes
/// it makes a new one), except for the store's LRU links.
/// </summary>
internal sealed class CacheEntry
{
    /// <summary>Bookkeeping the store charges per entry on top of the bytes it holds.</summary>
    public const int Overhead = 256;

    public required int Hash { get; init; }
    public required byte[] Host { get; init; }
    public required byte[] Path { get; init; }
    public required byte[] Query { get; init; }
    public required string? Consumer { get; init; }
    public required bool Authorized { get; init; }
    /// <summary>
    /// The target (origin-form path and query) the upstream was sent when this response was fetched: after rewrite,
    /// version and strip_prefix. Revalidation asks for it again (null: not known; then the request's is worked out).
    /// </summary>
    public byte[]? Target { get; init; }

    /// <summary>The response varies on Accept-Encoding (said so, or it is encoded): the normalised codings must match.</summary>
    public required bool VaryEncoding { get; init; }
    public required int EncodingFlags { get; init; }
    /// <summary>Other request fields the response varies on, lower case, and their values then (null: absent).</summary>
    public required byte[][] VaryNames { get; init; }
    public required byte[]?[] VaryValues { get; init; }

    public required int Status { get; init; }
    /// <summary>The stored field lines, each ending in CRLF.</summary>
    public required byte[] HeaderLines { get; init; }
    public required byte[] Body { get; init; }
    public required byte[]? ETag { get; init; }
    public required DateTimeOffset? LastModified { get; init; }

    /// <summary>When it was received (Environment.TickCount64) and how old it was then, in seconds (RFC 9111 §4.2.3).</summary>
    public required long ReceivedMs { get; init; }
    public required long InitialAge { get; init; }
    /// <summary>Freshness lifetime in seconds; 0: every use revalidates.</summary>
    public required long Lifetime { get; init; }
    public required long StaleWhileRevalidate { get; init; }
    public required long StaleIfError { get; init; }

    /// <summary>The answer a hit gives (200, 404, ...), and the one a matching conditional request gets (304).</summary>
    public required PolicyAnswer Answer { get; init; }
    public required PolicyAnswer NotModified { get; init; }

    public long Size => Overhead + HeaderLines.Length + Body.Length + NotModified.HeaderLines.Length + Host.Length + Path.Length + Query.Length + (Target?.Length ?? 0) + VarySize();

    // LRU links: owned by the store, read and written under its lock.
    public CacheEntry? Newer, Older, NextInBucket;
    public bool Stored;
    /// <summary>A background refresh is running for it (one per entry).</summary>
    public int Refreshing;

    public bool HasValidator => ETag is not null || LastModified is not null;

    /// <summary>Its age now, in seconds.</summary>
    public long AgeAt(long nowMs) => InitialAge + Math.Max(0, nowMs - ReceivedMs) / 1000;

    /// <summary>How far past its freshness it is now, in milliseconds (negative: still fresh).</summary>
    public long StalenessMs(long nowMs) => (InitialAge - Lifetime) * 1000 + (nowMs - ReceivedMs);

    public bool SameKey(ReadOnlySpan<byte> host, ReadOnlySpan<byte> path, ReadOnlySpan<byte> query)
        => path.SequenceEqual(Path) && query.SequenceEqual(Query) && Ascii.EqualsIgnoreCase(host, Host);

    public bool SameOwner(string? consumer, bool authorized) => Authorized == authorized && string.Equals(Consumer, consumer, StringComparison.Ordinal);

    /// <summary>The request selects this variant: its Vary fields are what they were when the entry was stored.</summary>
    public bool Matches(PolicyContext context, int encodingFlags)
    {
        if (VaryEncoding && encodingFlags != EncodingFlags) return false;
        for (int i = 0; i < VaryNames.Length; i++)
        {
            bool found = context.TryGetHeader(VaryNames[i], out var value);
            var stored = VaryValues[i];
            if (stored is null ? found : !found || !value.Trim(" \t"u8).SequenceEqual(stored)) return false;
        }
        return true;
    }

    /// <summary>
    /// A new response for <paramref name="other"/>'s key replaces this one: same owner, and the same variant (or Vary
    /// itself changed between responses: the old variants go, which RFC 9111 §4.1 allows).
    /// </summary>
    public bool SameVariant(CacheEntry other)
    {
        if (!SameOwner(other.Consumer, other.Authorized)) return false;
        if (VaryEncoding != other.VaryEncoding || VaryNames.Length != other.VaryNames.Length) return true;
        for (int i = 0; i < VaryNames.Length; i++) if (!VaryNames[i].AsSpan().SequenceEqual(other.VaryNames[i])) return true;
        if (VaryEncoding && EncodingFlags != other.EncodingFlags) return false;
        for (int i = 0; i < VaryNames.Length; i++)
        {
            if ((VaryValues[i] is null) != (other.VaryValues[i] is null)) return false;
            if (!(VaryValues[i] ?? []).AsSpan().SequenceEqual(other.VaryValues[i] ?? [])) return false;
        }
        return true;
    }

    private int VarySize()
    {
        int size = 0;
        for (int i = 0; i < VaryNames.Length; i++) size += VaryNames[i].Length + (VaryValues[i]?.Length ?? 0) + 16;
        return size;
    }

    /// <summary>Weak comparison (RFC 9110 §8.8.3.2) of the client's If-None-Match list with the stored ETag.</summary>
    public bool MatchesIfNoneMatch(ReadOnlySpan<byte> list)
    {
        if (ETag is null) return list.Trim(" \t"u8).SequenceEqual("*"u8);
        var mine = Opaque(ETag);
        foreach (var tag in new TokenList(list))
        {
            if (tag.SequenceEqual("*"u8) || Opaque(tag).SequenceEqual(mine)) return true;
        }
        return false;
    }

    private static ReadOnlySpan<byte> Opaque(ReadOnlySpan<byte> tag) => tag.StartsWith("W/"u8) ? tag[2..] : tag;
}

/// <summary>Builds entries from a response head (the forwarded one, or one the cache fetched itself).</summary>
internal static class CacheEntryBuilder
{
    /// <summary>Fields never stored: hop-by-hop, framing, and what the proxy writes on each answer.</summary>
    private static readonly byte[][] s_notStored =
    [
        "connection"u8.ToArray(), "keep-alive"u8.ToArray(), "proxy-connection"u8.ToArray(), "te"u8.ToArray(), "trailer"u8.ToArray(),
        "transfer-encoding"u8.ToArray(), "upgrade"u8.ToArray(), "content-length"u8.ToArray(), "date"u8.ToArray(), "age"u8.ToArray(),
        "x-cache"u8.ToArray(), "set-cookie"u8.ToArray(), "x-request-id"u8.ToArray(),
    ];

    /// <summary>What a 304 carries of the stored head (RFC 9110 §15.4.5).</summary>
    private static readonly byte[][] s_notModifiedFields =
    [
        "cache-control"u8.ToArray(), "content-location"u8.ToArray(), "etag"u8.ToArray(), "expires"u8.ToArray(), "vary"u8.ToArray(), "last-modified"u8.ToArray(),
    ];

    public static bool IsStored(ReadOnlySpan<byte> name)
    {
        foreach (var n in s_notStored) if (n.Length == name.Length && Ascii.EqualsIgnoreCase(n, name)) return false;
        return true;
    }

    /// <summary>The stored field lines of <paramref name="response"/>; with <paramref name="merged"/>, the old lines a 304 refreshes (RFC 9111 §4.3.4).</summary>
    public static byte[] Lines(ResponseView response, ReadOnlySpan<byte> merged = default)
    {
        var sb = new MemoryStream(512);
        if (!merged.IsEmpty)
        {
            // The old lines whose names the 304 does not carry stay; the others are replaced by the 304's.
            var rest = merged;
            while (!rest.IsEmpty)
            {
                int end = rest.IndexOf("\r\n"u8);
                var line = rest[..(end + 2)];
                rest = rest[(end + 2)..];
                int colon = line.IndexOf((byte)':');
                var name = line[..colon];
                if (!response.TryGetHeader(name, out _) || Ascii.EqualsIgnoreCase(name, "content-length"u8)) sb.Write(line);
            }
        }
        for (int i = 0; i < response.HeaderCount; i++)
        {
            var name = response.HeaderName(i);
            if (!IsStored(name)) continue;
            if (!merged.IsEmpty && (Ascii.EqualsIgnoreCase(name, "content-type"u8) || Ascii.EqualsIgnoreCase(name, "content-encoding"u8))) continue; // the body's own
            sb.Write(name);
            sb.Write(": "u8);
            sb.Write(response.HeaderValue(i));
            sb.Write("\r\n"u8);
        }
        return sb.ToArray();
    }

    /// <summary>The representation's fields a response stage may set (compress: its coding, Vary, the weakened ETag): stored as the client got them.</summary>
    private static readonly byte[][] s_stageEdited = ["content-encoding"u8.ToArray(), "vary"u8.ToArray(), "etag"u8.ToArray()];

    /// <summary>
    /// The stored field lines of <paramref name="response"/> as the client gets it: the fields <paramref name="context"/>
    /// removed left out, and the representation fields policies added (Content-Encoding, Vary, ETag) put in.
    /// </summary>
    public static byte[] Lines(ResponseView response, PolicyContext context)
    {
        var sb = new MemoryStream(512);
        bool removals = context.HasResponseRemovals;
        for (int i = 0; i < response.HeaderCount; i++)
        {
            var name = response.HeaderName(i);
            if (!IsStored(name) || (removals && context.IsResponseHeaderRemoved(name))) continue;
            sb.Write(name);
            sb.Write(": "u8);
            sb.Write(response.HeaderValue(i));
            sb.Write("\r\n"u8);
        }
        var rest = context.ResponseLines;
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf("\r\n"u8);
            if (end < 0) break;
            var line = rest[..(end + 2)];
            rest = rest[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) continue;
            var name = line[..colon];
            foreach (var n in s_stageEdited)
            {
                if (n.Length == name.Length && Ascii.EqualsIgnoreCase(n, name))
                {
                    sb.Write(line);
                    break;
                }
            }
        }
        return sb.ToArray();
    }

    public static byte[] NotModifiedLines(ReadOnlySpan<byte> lines)
    {
        var sb = new MemoryStream(128);
        var rest = lines;
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf("\r\n"u8);
            var line = rest[..(end + 2)];
            rest = rest[(end + 2)..];
            var name = line[..line.IndexOf((byte)':')];
            foreach (var n in s_notModifiedFields)
            {
                if (n.Length == name.Length && Ascii.EqualsIgnoreCase(n, name))
                {
                    sb.Write(line);
                    break;
                }
            }
        }
        return sb.ToArray();
    }

    public static byte[]? Field(ReadOnlySpan<byte> lines, ReadOnlySpan<byte> wanted)
    {
        var rest = lines;
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf("\r\n"u8);
            var line = rest[..end];
            rest = rest[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon == wanted.Length && Ascii.EqualsIgnoreCase(line[..colon], wanted)) return line[(colon + 1)..].Trim(" \t"u8).ToArray();
        }
        return null;
    }

    /// <summary>The request fields named by the stored lines' Vary (Accept-Encoding apart), lower case, with their values from <paramref name="context"/>.</summary>
    public static (bool Encoding, byte[][] Names, byte[]?[] Values) Vary(ReadOnlySpan<byte> lines, bool encoded, Func<byte[], byte[]?> requestField)
    {
        bool encoding = encoded;
        var names = new List<byte[]>();
        var rest = lines;
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf("\r\n"u8);
            var line = rest[..end];
            rest = rest[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon != 4 || !Ascii.EqualsIgnoreCase(line[..4], "vary"u8)) continue;
            foreach (var token in new TokenList(line[(colon + 1)..]))
            {
                if (Ascii.EqualsIgnoreCase(token, "accept-encoding"u8))
                {
                    encoding = true;
                    continue;
                }
                var lower = new byte[token.Length];
                Ascii.ToLower(token, lower, out _);
                if (!names.Exists(n => n.AsSpan().SequenceEqual(lower))) names.Add(lower);
            }
        }
        var values = new byte[]?[names.Count];
        for (int i = 0; i < names.Count; i++) values[i] = requestField(names[i]);
        return (encoding, [.. names], values);
    }

    public static PolicyAnswer MakeAnswer(int status, RejectionCounter counter, byte[] lines, byte[] body)
        => new(status, counter, lines, body) { Relayed = true };

    public static void FormatAge(PolicyContext context, long age)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(age, digits, out int length);
        context.AddResponseHeader("age"u8, digits[..length]);
    }
}
