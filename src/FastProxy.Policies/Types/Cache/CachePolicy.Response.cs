using System.Buffers;
using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// The way back: a miss's response is stored when RFC 9111 allows it (status, Cache-Control, Expires, Vary, no
/// Set-Cookie, the Authorization rule) and its body fits max_entry_size; an unsafe method's success invalidates.
/// </summary>
internal sealed partial class CachePolicy
{
    /// <summary>Statuses stored (RFC 9110 §15.1's heuristically cacheable list; 206 is not: ranges are not served from entries).</summary>
    private static bool IsCacheableStatus(int status) => status is 200 or 203 or 204 or 300 or 301 or 308 or 404 or 405 or 410 or 414 or 501;

    public void OnResponse(PolicyContext context, ResponseView response)
    {
        if (context.CacheExchange is not { } exchange || exchange.Policy != this) return;
        if (exchange.Invalidate)
        {
            if (response.Status is >= 200 and < 400) InvalidateAfterUnsafe(context, response);
            return;
        }
        if (!exchange.Capture) return;
        exchange.Capture = false;
        var directives = ResponseDirectives.Read(response);
        if (Freshness(response.Status, directives, exchange.Authorized, out _) is null)
        {
            exchange.EndFill();
            return;
        }
        bool empty = response.Status == 204 || (response.TryGetHeader("content-length"u8, out var length) && length.Trim(" \t"u8).SequenceEqual("0"u8));
        if (empty)
        {
            StoreResponse(context, exchange, response, []);
            exchange.EndFill();
            return;
        }
        // The body is captured by the cache's observing stage (CacheCaptureStage), as the client gets it.
        exchange.CaptureBody = true;
    }

    private void StoreResponse(PolicyContext context, CacheExchange exchange, ResponseView response, byte[] body)
    {
        var entry = Build(response, body, KeyOf(context, exchange), exchange.EncodingFlags, RequestField(context));
        if (entry is not null) _store.Add(entry);
    }

    private KeySnapshot KeyOf(PolicyContext context, CacheExchange exchange)
        => new(exchange.Hash, _options.KeyHost ? context.Host.ToArray() : [], context.Path.ToArray(),
            _options.KeyQuery ? context.Query.ToArray() : [], exchange.Consumer, exchange.Authorized, UpstreamTarget(context, StripOf(context)));

    private static Func<byte[], byte[]?> RequestField(PolicyContext context)
        => name => context.TryGetHeader(name, out var v) ? v.Trim(" \t"u8).ToArray() : null;

    /// <summary>
    /// The capture stage begins (the head as the client gets it is final): the entry's head, or null when this
    /// response is not to be stored (then the fill it led is over: its waiters go on at once).
    /// </summary>
    internal PendingEntry? BeginCapture(PolicyContext context, ResponseView response, long contentLength)
    {
        if (context.CacheExchange is not { CaptureBody: true } exchange || exchange.Policy != this) return null;
        exchange.CaptureBody = false;
        // Larger than an entry may be (as the upstream sends it, and nothing re-encodes it): streamed through, not stored.
        var pending = contentLength > _options.MaxEntrySize && !context.StagesTransform
            ? null
            : Prepare(response.Status, CacheEntryBuilder.Lines(response, context), ResponseDirectives.Read(response), KeyOf(context, exchange),
                exchange.EncodingFlags, RequestField(context));
        if (pending is null) exchange.EndFill();
        return pending;
    }

    /// <summary>The captured body came whole (null: it did not, or outgrew max_entry_size): stored, and the fill is over.</summary>
    internal void EndCapture(PolicyContext context, PendingEntry pending, byte[]? body)
    {
        if (body is not null && pending.Finish(body) is { } entry) _store.Add(entry);
        context.CacheExchange?.EndFill();
    }

    /// <summary>The body outgrew max_entry_size: the waiters for this URL go on now, not when the body ends.</summary>
    internal static void GiveUpCapture(PolicyContext context) => context.CacheExchange?.EndFill();

    /// <summary>
    /// How long the response stays fresh, in seconds (0: it must be revalidated at each use), or null when it may not
    /// be stored at all.
    /// </summary>
    private long? Freshness(int status, in ResponseDirectives d, bool authorized, out bool explicitly)
    {
        explicitly = d.SMaxAge >= 0 || d.MaxAge >= 0 || d.Expires is not null;
        if (!IsCacheableStatus(status) || d.NoStore || d.Private || d.HasSetCookie || d.VaryStar) return null;
        if (authorized && !(d.Public || d.SMaxAge >= 0 || d.MustRevalidate)) return null;
        long lifetime;
        if (d.SMaxAge >= 0) lifetime = d.SMaxAge;
        else if (d.MaxAge >= 0) lifetime = d.MaxAge;
        else if (d.Expires is { } expires) lifetime = Math.Max(0, (long)(expires - (d.Date ?? DateTimeOffset.UtcNow)).TotalSeconds);
        else if (_defaultTtl > 0) lifetime = _defaultTtl;
        else if (d.NoCache) lifetime = 0;
        else return null; // heuristics off: nothing says how long it may be used
        if (d.NoCache) lifetime = 0;
        bool validator = d.HasETag || d.LastModified is not null;
        if (lifetime == 0 && !validator) return null; // could never be used without fetching it whole again
        return lifetime;
    }

    /// <summary>An entry from a response head and its body; null when the response may not be stored.</summary>
    private CacheEntry? Build(ResponseView response, byte[] body, KeySnapshot key, int encodingFlags, Func<byte[], byte[]?> requestField,
        ReadOnlySpan<byte> mergedFrom = default, CacheEntry? refreshed = null)
    {
        var lines = CacheEntryBuilder.Lines(response, mergedFrom);
        var d = refreshed is null ? ResponseDirectives.Read(response) : DirectivesOfLines(lines);
        int status = refreshed?.Status ?? response.Status;
        return Prepare(status, lines, d, key, encodingFlags, requestField)?.Finish(body);
    }

    /// <summary>All of an entry but its body (the head is known before the body streams by); null when it may not be stored.</summary>
    internal PendingEntry? Prepare(int status, byte[] lines, in ResponseDirectives d, KeySnapshot key, int encodingFlags, Func<byte[], byte[]?> requestField)
    {
        if (Freshness(status, d, key.Authorized, out _) is not { } lifetime) return null;
        var now = DateTimeOffset.UtcNow;
        long apparent = d.Date is { } date ? Math.Max(0, (long)(now - date).TotalSeconds) : 0;
        long initialAge = Math.Max(apparent, Math.Max(0, d.Age));
        long swr = d.MustRevalidate ? 0 : Math.Min(Math.Max(0, d.StaleWhileRevalidate), _swrCap);
        long sie = d.MustRevalidate ? 0 : Math.Min(Math.Max(0, d.StaleIfError), _sieCap);
        var vary = CacheEntryBuilder.Vary(lines, d.Encoded, requestField);
        return new PendingEntry(this, status, lines, key, encodingFlags, vary, CacheEntryBuilder.Field(lines, "etag"u8), d.LastModified,
            initialAge, lifetime, swr, sie);
    }

    /// <summary>An entry waiting for its body.</summary>
    internal sealed record PendingEntry(CachePolicy Policy, int Status, byte[] Lines, KeySnapshot Key, int EncodingFlags,
        (bool Encoding, byte[][] Names, byte[]?[] Values) Vary, byte[]? ETag, DateTimeOffset? LastModified, long InitialAge, long Lifetime,
        long StaleWhileRevalidate, long StaleIfError)
    {
        /// <summary>The entry with <paramref name="body"/>; null when it is larger than the cache takes.</summary>
        public CacheEntry? Finish(byte[] body)
        {
            var entry = new CacheEntry
            {
                Hash = Key.Hash,
                Host = Key.Host,
                Path = Key.Path,
                Query = Key.Query,
                Consumer = Key.Consumer,
                Authorized = Key.Authorized,
                Target = Key.Target,
                VaryEncoding = Vary.Encoding,
                EncodingFlags = EncodingFlags,
                VaryNames = Vary.Names,
                VaryValues = Vary.Values,
                Status = Status,
                HeaderLines = Lines,
                Body = body,
                ETag = ETag,
                LastModified = LastModified,
                ReceivedMs = Environment.TickCount64,
                InitialAge = InitialAge,
                Lifetime = Lifetime,
                StaleWhileRevalidate = StaleWhileRevalidate,
                StaleIfError = StaleIfError,
                Answer = CacheEntryBuilder.MakeAnswer(Status, Policy._answers, Lines, body),
                NotModified = CacheEntryBuilder.MakeAnswer(304, Policy._answers, CacheEntryBuilder.NotModifiedLines(Lines), []),
            };
            return entry.Size <= Policy._options.MaxSize && body.Length <= Policy._options.MaxEntrySize ? entry : null;
        }
    }

    /// <summary>The directives of stored lines (a 304 merged into an entry).</summary>
    private static ResponseDirectives DirectivesOfLines(byte[] lines)
    {
        var bytes = new byte[lines.Length + 19];
        "HTTP/1.1 200 OK\r\n"u8.CopyTo(bytes);
        lines.CopyTo(bytes, 17);
        "\r\n"u8.CopyTo(bytes.AsSpan(17 + lines.Length));
        var head = new Http1.ResponseHead();
        try
        {
            if (Http1.ResponseParser.Parse(bytes, head, s_limits) != Http1.ParseStatus.Complete) return new ResponseDirectives { MaxAge = -1, SMaxAge = -1, StaleIfError = -1, StaleWhileRevalidate = -1, Age = -1 };
            return ResponseDirectives.Read(new ResponseView(head, bytes));
        }
        finally
        {
            head.ReleaseFields();
        }
    }

    private static readonly Http1.HeadLimits s_limits = new(MaxStartLine: 8 * 1024, MaxHeaderBytes: 64 * 1024, MaxHeaders: 256);

    /// <summary>An unsafe method succeeded: its URL, and the Location / Content-Location URLs on the same host, are dropped (RFC 9111 §4.4).</summary>
    private void InvalidateAfterUnsafe(PolicyContext context, ResponseView response)
    {
        var host = _options.KeyHost ? context.Host : default;
        _store.Invalidate(host, context.Path, _options.KeyQuery ? context.Query : default);
        InvalidateReference(context, response, "location"u8, host);
        InvalidateReference(context, response, "content-location"u8, host);
    }

    private void InvalidateReference(PolicyContext context, ResponseView response, ReadOnlySpan<byte> field, ReadOnlySpan<byte> host)
    {
        if (!response.TryGetHeader(field, out var value)) return;
        value = value.Trim(" \t"u8);
        if (value.StartsWith("http://"u8) || value.StartsWith("https://"u8))
        {
            var rest = value[(value.IndexOf("//"u8) + 2)..];
            int slash = rest.IndexOf((byte)'/');
            if (slash < 0) return;
            var authority = rest[..slash];
            // Same host only: another host's entries are not this response's to drop.
            int colon = authority.IndexOf((byte)':');
            if (!Ascii.EqualsIgnoreCase(colon < 0 ? authority : authority[..colon], context.Host)) return;
            value = rest[slash..];
        }
        if (value.IsEmpty || value[0] != '/') return;
        int q = value.IndexOf((byte)'?');
        _store.Invalidate(host, q < 0 ? value : value[..q], !_options.KeyQuery || q < 0 ? default : value[(q + 1)..]);
    }
}
