using System.Text;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// Requests of the cache's own to the route's upstream (through <see cref="IUpstreamCalls"/>: its pool, balancer,
/// health and limits): a stale entry is revalidated with If-None-Match / If-Modified-Since; a 304 refreshes it (its
/// fields merged, RFC 9111 §4.3.4), a storable answer replaces it, a failure within stale-if-error serves it stale.
/// Not the hot path: these allocate.
/// </summary>
internal sealed partial class CachePolicy
{
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Request fields not copied to the cache's own request: its framing, the proxy's own, conditionals and ranges (the cache sets its own).</summary>
    private static readonly byte[][] s_notCopied =
    [
        "connection"u8.ToArray(), "keep-alive"u8.ToArray(), "proxy-connection"u8.ToArray(), "te"u8.ToArray(), "trailer"u8.ToArray(),
        "transfer-encoding"u8.ToArray(), "upgrade"u8.ToArray(), "content-length"u8.ToArray(), "host"u8.ToArray(), "expect"u8.ToArray(),
        "x-forwarded-for"u8.ToArray(), "forwarded"u8.ToArray(), "if-none-match"u8.ToArray(), "if-modified-since"u8.ToArray(),
        "if-match"u8.ToArray(), "if-unmodified-since"u8.ToArray(), "if-range"u8.ToArray(), "range"u8.ToArray(), "cache-control"u8.ToArray(),
        "pragma"u8.ToArray(),
    ];

    private bool CanFetch(PolicyContext context, out string upstream, out string? strip)
    {
        if (_upstreams is not null && context.SelectedUpstream < 0 && context.Route is { } route && _routes.TryGetValue(route, out var target))
        {
            (upstream, strip) = target;
            return true;
        }
        upstream = "";
        strip = null;
        return false;
    }

    /// <summary>The request the cache sends for <paramref name="entry"/>: the client's fields (those policies kept and added), and the entry's validators.</summary>
    private UpstreamCall BuildCall(PolicyContext context, string upstream, string? strip, CacheEntry entry)
    {
        var lines = new MemoryStream(512);
        var removed = context.RemovedHeaders;
        for (int i = 0; i < context.HeaderCount; i++)
        {
            if (removed.Contains(i)) continue;
            var name = context.HeaderName(i);
            if (!Copied(name)) continue;
            lines.Write(name);
            lines.Write(": "u8);
            lines.Write(context.HeaderValue(i));
            lines.Write("\r\n"u8);
        }
        lines.Write(context.RequestLines);
        if (entry.ETag is { } etag)
        {
            lines.Write("If-None-Match: "u8);
            lines.Write(etag);
            lines.Write("\r\n"u8);
        }
        else if (entry.LastModified is { } modified)
        {
            lines.Write("If-Modified-Since: "u8);
            lines.Write(Encoding.ASCII.GetBytes(modified.ToUniversalTime().ToString("r")));
            lines.Write("\r\n"u8);
        }
        return new UpstreamCall
        {
            Upstream = upstream,
            Method = "GET",
            PathAndQuery = entry.Target ?? UpstreamTarget(context, strip),
            HeaderLines = lines.ToArray(),
            MaxBody = (int)Math.Min(_options.MaxEntrySize, int.MaxValue),
            Timeout = s_callTimeout,
            Client = context.Client,
        };
    }

    /// <summary>The route's strip_prefix (null: none, or the request is not on a route the cache may call).</summary>
    private string? StripOf(PolicyContext context)
        => context.Route is { } route && _routes.TryGetValue(route, out var target) ? target.StripPrefix : null;

    /// <summary>
    /// The target the upstream gets for this request, as the forwarder writes it (RequestHeadWriter.WriteTarget): a
    /// path a policy set (rewrite, version) or the client's with strip_prefix taken off, and the query as policies
    /// left it (parameters removed and set).
    /// </summary>
    internal static byte[] UpstreamTarget(PolicyContext context, string? strip)
    {
        ReadOnlySpan<byte> path;
        if (context.PathSet)
        {
            path = context.EditedPath;
        }
        else
        {
            path = context.Path;
            if (strip is { Length: > 0 })
            {
                var prefix = Encoding.ASCII.GetBytes(strip.TrimEnd('/'));
                if (path.StartsWith(prefix)) path = path[prefix.Length..];
            }
        }
        var query = context.Query;
        byte[]? edited = null;
        if (context.QueryEdited)
        {
            edited = new byte[query.Length + context.QueryGrowth];
            query = edited.AsSpan(0, context.CopyEditedQuery(edited));
        }
        bool slash = path.IsEmpty || path[0] != '/';
        var target = new byte[(slash ? 1 : 0) + path.Length + (query.IsEmpty ? 0 : 1 + query.Length)];
        int w = 0;
        if (slash) target[w++] = (byte)'/';
        path.CopyTo(target.AsSpan(w));
        w += path.Length;
        if (!query.IsEmpty)
        {
            target[w++] = (byte)'?';
            query.CopyTo(target.AsSpan(w));
        }
        return target;
    }

    private static bool Copied(ReadOnlySpan<byte> name)
    {
        foreach (var n in s_notCopied) if (n.Length == name.Length && Ascii.EqualsIgnoreCase(n, name)) return false;
        return true;
    }

    /// <summary>A stale entry, revalidated before the client is answered.</summary>
    private async ValueTask<PolicyAnswer?> RevalidateAsync(PolicyContext context, CacheEntry entry, string upstream, string? strip, KeySnapshot key)
    {
        var call = BuildCall(context, upstream, strip, entry);
        var result = await _upstreams!.SendAsync(call, context.RequestAborted).ConfigureAwait(false);
        long now = Environment.TickCount64;
        if (result.Outcome == UpstreamCallOutcome.Canceled) return null;
        var (fresh, outcome) = Apply(entry, call, key, result);
        switch (outcome)
        {
            case RefreshOutcome.Refreshed:
                Interlocked.Increment(ref _counters.Revalidated);
                return await Hit(context, fresh!, now, s_hit).ConfigureAwait(false);
            case RefreshOutcome.Replaced:
                Interlocked.Increment(ref _counters.Misses);
                return await Hit(context, fresh!, now, s_miss).ConfigureAwait(false);
            case RefreshOutcome.Failed when entry.StalenessMs(now) < entry.StaleIfError * 1000:
                // RFC 5861 stale-if-error: the upstream failed (5xx, or could not be reached): the stale entry serves.
                Interlocked.Increment(ref _counters.Stale);
                return await Hit(context, entry, now, s_stale).ConfigureAwait(false);
            case RefreshOutcome.NotStored when result.Outcome == UpstreamCallOutcome.Answered:
                // Answered, but not to be stored: the client gets it as it came.
                Interlocked.Increment(ref _counters.Misses);
                context.AddResponseHeader("x-cache"u8, s_miss);
                return OneOff(result);
            default:
                // Too large for an entry, or failed past stale-if-error: forwarded as usual (the response says what happened).
                return await Miss(context).ConfigureAwait(false);
        }
    }

    /// <summary>Within stale-while-revalidate: the client had the stale entry; this brings it up to date.</summary>
    private async Task RefreshInBackgroundAsync(CacheEntry entry, UpstreamCall call, KeySnapshot key)
    {
        try
        {
            var result = await _upstreams!.SendAsync(call, CancellationToken.None).ConfigureAwait(false);
            var (_, outcome) = Apply(entry, call, key, result);
            if (outcome == RefreshOutcome.Refreshed) Interlocked.Increment(ref _counters.Revalidated);
        }
        catch (Exception)
        {
            // A refresh that fails leaves the stale entry as it was.
        }
        finally
        {
            Volatile.Write(ref entry.Refreshing, 0);
        }
    }

    private enum RefreshOutcome : byte { Refreshed, Replaced, NotStored, Failed }

    /// <summary>What the upstream's answer does to the entry: refreshed (304), replaced (a storable answer), dropped, or left (a failure).</summary>
    private (CacheEntry? Entry, RefreshOutcome Outcome) Apply(CacheEntry entry, UpstreamCall call, KeySnapshot key, UpstreamCallResult result)
    {
        if (result.Outcome != UpstreamCallOutcome.Answered)
        {
            if (result.Outcome == UpstreamCallOutcome.TooLarge) _store.Evict(entry);
            return (null, result.Outcome == UpstreamCallOutcome.TooLarge ? RefreshOutcome.NotStored : RefreshOutcome.Failed);
        }
        if (result.Status is 500 or 502 or 503 or 504) return (null, RefreshOutcome.Failed);
        var bytes = result.Head.ToArray();
        var head = new ResponseHead();
        try
        {
            if (ResponseParser.Parse(bytes, head, s_limits) != ParseStatus.Complete) return (null, RefreshOutcome.Failed);
            var response = new ResponseView(head, bytes);
            var lines = call.HeaderLines;
            Func<byte[], byte[]?> field = name => CacheEntryBuilder.Field(lines, name);
            int encodings = AcceptEncoding.Normalize(CacheEntryBuilder.Field(lines, "accept-encoding"u8));
            if (result.Status == 304)
            {
                var merged = Build(response, entry.Body, key, encodings, field, entry.HeaderLines, entry);
                if (merged is null)
                {
                    _store.Evict(entry);
                    return (null, RefreshOutcome.NotStored);
                }
                _store.Replace(entry, merged);
                return (merged, RefreshOutcome.Refreshed);
            }
            var fresh = Build(response, result.Body.ToArray(), key, encodings, field);
            if (fresh is null)
            {
                _store.Evict(entry);
                return (null, RefreshOutcome.NotStored);
            }
            _store.Evict(entry);
            _store.Add(fresh);
            return (fresh, RefreshOutcome.Replaced);
        }
        finally
        {
            head.ReleaseFields();
        }
    }

    /// <summary>An answer that is not stored, given once as it came (hop-by-hop and framing fields left out).</summary>
    private PolicyAnswer OneOff(UpstreamCallResult result)
    {
        var bytes = result.Head.ToArray();
        var head = new ResponseHead();
        try
        {
            ResponseParser.Parse(bytes, head, s_limits);
            var lines = CacheEntryBuilder.Lines(new ResponseView(head, bytes));
            return CacheEntryBuilder.MakeAnswer(result.Status, _answers, lines, result.Body.ToArray());
        }
        finally
        {
            head.ReleaseFields();
        }
    }
}
