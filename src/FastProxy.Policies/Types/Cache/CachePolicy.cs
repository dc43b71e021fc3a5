using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// type = "cache": a shared HTTP cache (RFC 9111; stale-while-revalidate and stale-if-error of RFC 5861). A fresh
/// entry answers the request with <c>x-cache: HIT</c> and <c>Age</c>, nothing reaching the upstream; a miss goes on
/// (<c>x-cache: MISS</c>) and its response is stored on the way back when it may be (<see cref="IResponsePolicy"/>
/// and an observing <see cref="IResponseStreamPolicy"/> stage: the body as the client gets it, after compress, up to
/// max_entry_size, while it streams on to the client). Concurrent misses for
/// one URL wait for the first one's response. A stale entry is revalidated by a request of the cache's own to the
/// route's upstream (If-None-Match / If-Modified-Since), in the background within stale-while-revalidate. A hit
/// allocates nothing.
/// </summary>
internal sealed partial class CachePolicy : IPolicy, IResponsePolicy, IResponseStreamPolicy
{
    private static readonly byte[] s_hit = "HIT"u8.ToArray(), s_miss = "MISS"u8.ToArray(), s_stale = "STALE"u8.ToArray(), s_bypass = "BYPASS"u8.ToArray();

    private readonly CacheOptions _options;
    private readonly CacheStore _store;
    private readonly CacheCounters _counters;
    private readonly RejectionCounter _answers;
    private readonly IUpstreamCalls? _upstreams;
    private readonly IReadOnlyDictionary<string, (string Upstream, string? StripPrefix)> _routes;
    private readonly long _defaultTtl, _swrCap, _sieCap, _lockTimeoutMs;

    public CachePolicy(string name, CacheOptions options, PolicyBuildContext context)
    {
        Name = name;
        _options = options;
        // A reload keeps the entries of a policy that keeps its name and size.
        _store = context.Previous?.Find(name) is CachePolicy old && old._store.MaxSize == options.MaxSize ? old._store : new CacheStore(options.MaxSize);
        _counters = CacheCounters.For(name);
        _counters.Use(_store);
        // Hits are answers, not refusals: counted by fastproxy_cache_requests_total, not as policy rejections.
        _answers = RejectionCounter.Unlisted(name, "cache", "hit");
        _upstreams = context.Upstreams;
        _routes = context.RouteUpstreams;
        _defaultTtl = (long)options.DefaultTtl.TotalSeconds;
        _swrCap = (long)options.StaleWhileRevalidate.TotalSeconds;
        _sieCap = (long)options.StaleIfError.TotalSeconds;
        _lockTimeoutMs = (long)options.LockTimeout.TotalMilliseconds;
    }

    public string Name { get; }

    /// <summary>The capture only observes what the client receives (it runs after compress, whatever the order listed).</summary>
    public bool ObservesOnly => true;

    public ResponseStage CreateStage() => new CacheCaptureStage(this, _options.MaxEntrySize);

    internal CacheStore Store => _store;

    /// <summary>Removes the entries of one URL ("host/path?query") or, with <paramref name="prefix"/>, of every key starting so; how many went.</summary>
    public int Purge(string key, bool prefix)
    {
        if (prefix) return _store.PurgePrefix(key);
        int slash = key.IndexOf('/');
        if (slash < 0) return 0;
        int q = key.IndexOf('?', slash);
        var host = Encoding.Latin1.GetBytes(key[..slash]);
        var path = Encoding.Latin1.GetBytes(q < 0 ? key[slash..] : key[slash..q]);
        var query = q < 0 ? [] : Encoding.Latin1.GetBytes(key[(q + 1)..]);
        return _store.Invalidate(_options.KeyHost ? host : [], path, _options.KeyQuery ? query : []);
    }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        var method = context.Method;
        bool get = method == HttpMethod.Get;
        if (!(get && _options.Get) && !(method == HttpMethod.Head && _options.Head))
        {
            if (method is HttpMethod.Post or HttpMethod.Put or HttpMethod.Delete or HttpMethod.Patch)
            {
                // RFC 9111 §4.4: a success invalidates the URL (and Location / Content-Location), on the way back.
                var exchange = Exchange(context);
                exchange.Invalidate = true;
            }
            return Bypass(context);
        }
        // Ranges are not served from entries (and 206s not stored); a request that says no-store is not stored.
        if (context.FindHeader("range"u8) >= 0 || RequestSaysNoStore(context)) return Bypass(context);

        var host = _options.KeyHost ? context.Host : default;
        var path = context.Path;
        var query = _options.KeyQuery ? context.Query : default;
        string? consumer = _options.PerConsumer ? context.Consumer?.Name : null;
        // Credentials without a consumer to key by: a namespace of its own, filled only by responses that allow it (§3.5).
        bool authorized = consumer is null && context.FindHeader("authorization"u8) >= 0;
        int encodings = AcceptEncoding.Normalize(context);
        int hash = CacheStore.HashOf(host, path, query);
        long now = Environment.TickCount64;

        var entry = _store.Find(hash, host, path, query, consumer, authorized, context, encodings);
        if (entry is not null)
        {
            long staleMs = entry.StalenessMs(now);
            if (staleMs < 0)
            {
                Interlocked.Increment(ref _counters.Hits);
                return Hit(context, entry, now, s_hit);
            }
            if (CanFetch(context, out var upstream, out var strip))
            {
                if (staleMs < entry.StaleWhileRevalidate * 1000)
                {
                    // RFC 5861: answered at once, refreshed in the background (one refresh per entry at a time).
                    if (Interlocked.CompareExchange(ref entry.Refreshing, 1, 0) == 0)
                    {
                        var call = BuildCall(context, upstream, strip, entry);
                        var snapshot = new KeySnapshot(hash, entry.Host, entry.Path, entry.Query, consumer, authorized, entry.Target);
                        _ = RefreshInBackgroundAsync(entry, call, snapshot);
                    }
                    Interlocked.Increment(ref _counters.Stale);
                    return Hit(context, entry, now, s_stale);
                }
                return RevalidateAsync(context, entry, upstream, strip, new KeySnapshot(hash, entry.Host, entry.Path, entry.Query, consumer, authorized, entry.Target));
            }
            // No request of our own is possible (no upstream to ask): a miss, whose response replaces the entry.
        }

        var state = Exchange(context);
        state.Consumer = consumer;
        state.Authorized = authorized;
        state.EncodingFlags = encodings;
        state.Hash = hash;
        if (get)
        {
            if (_lockTimeoutMs > 0)
            {
                var inFlight = _store.JoinOrLead(hash, now, _lockTimeoutMs, out var mine);
                if (inFlight is not null) return WaitForFillAsync(context, inFlight);
                state.Fill = mine;
            }
            state.Capture = true;
        }
        return Miss(context);
    }

    private ValueTask<PolicyAnswer?> Miss(PolicyContext context)
    {
        Interlocked.Increment(ref _counters.Misses);
        context.AddResponseHeader("x-cache"u8, s_miss);
        return default;
    }

    private ValueTask<PolicyAnswer?> Bypass(PolicyContext context)
    {
        Interlocked.Increment(ref _counters.Bypass);
        context.AddResponseHeader("x-cache"u8, s_bypass);
        return default;
    }

    /// <summary>The entry's answer (or its 304 when the client's own conditional matches), with Age and x-cache.</summary>
    private ValueTask<PolicyAnswer?> Hit(PolicyContext context, CacheEntry entry, long now, byte[] result)
    {
        CacheEntryBuilder.FormatAge(context, entry.AgeAt(now));
        context.AddResponseHeader("x-cache"u8, result);
        return new ValueTask<PolicyAnswer?>(ClientHasIt(context, entry) ? entry.NotModified : entry.Answer);
    }

    /// <summary>The client's If-None-Match (or, without one, If-Modified-Since) says it has this representation (RFC 9110 §13.2.2).</summary>
    private static bool ClientHasIt(PolicyContext context, CacheEntry entry)
    {
        if (entry.Status != 200) return false;
        int inm = context.FindHeader("if-none-match"u8);
        if (inm >= 0)
        {
            for (; inm >= 0; inm = context.FindHeader("if-none-match"u8, inm + 1))
            {
                if (entry.MatchesIfNoneMatch(context.HeaderValue(inm))) return true;
            }
            return false;
        }
        if (entry.LastModified is { } modified && context.TryGetHeader("if-modified-since"u8, out var since) && HttpDates.Parse(since) is { } date)
        {
            return modified <= date;
        }
        return false;
    }

    private static bool RequestSaysNoStore(PolicyContext context)
    {
        for (int i = context.FindHeader("cache-control"u8); i >= 0; i = context.FindHeader("cache-control"u8, i + 1))
        {
            foreach (var directive in new TokenList(context.HeaderValue(i)))
            {
                if (Ascii.EqualsIgnoreCase(directive, "no-store"u8)) return true;
            }
        }
        return false;
    }

    private CacheExchange Exchange(PolicyContext context)
    {
        var exchange = context.CacheExchange ??= new CacheExchange();
        if (exchange.Policy is not null && exchange.Policy != this) return new CacheExchange(); // a second cache in one chain: inert
        exchange.Policy = this;
        exchange.Store = _store;
        return exchange;
    }

    /// <summary>Waits (up to lock_timeout) for the miss in flight for this URL, then answers from what it stored, or goes on as a miss.</summary>
    private async ValueTask<PolicyAnswer?> WaitForFillAsync(PolicyContext context, CacheStore.Fill fill)
    {
        try
        {
            await fill.Done.Task.WaitAsync(TimeSpan.FromMilliseconds(_lockTimeoutMs), context.RequestAborted).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        var host = _options.KeyHost ? context.Host : default;
        var query = _options.KeyQuery ? context.Query : default;
        string? consumer = _options.PerConsumer ? context.Consumer?.Name : null;
        bool authorized = consumer is null && context.FindHeader("authorization"u8) >= 0;
        int encodings = AcceptEncoding.Normalize(context);
        long now = Environment.TickCount64;
        var entry = _store.Find(CacheStore.HashOf(host, context.Path, query), host, context.Path, query, consumer, authorized, context, encodings);
        if (entry is not null && entry.StalenessMs(now) < 0)
        {
            Interlocked.Increment(ref _counters.Hits);
            return await Hit(context, entry, now, s_hit).ConfigureAwait(false);
        }
        // The first response was not stored (or not yet): this one goes to the upstream too, and may store its own.
        var state = Exchange(context);
        state.Consumer = consumer;
        state.Authorized = authorized;
        state.EncodingFlags = encodings;
        state.Hash = CacheStore.HashOf(host, context.Path, query);
        state.Capture = context.Method == HttpMethod.Get;
        return await Miss(context).ConfigureAwait(false);
    }
}

/// <summary>
/// A URL's key, copied out of a request, for an entry made after the request's context moved on; with the target the
/// upstream was sent for it (see <see cref="CacheEntry.Target"/>).
/// </summary>
internal sealed record KeySnapshot(int Hash, byte[] Host, byte[] Path, byte[] Query, string? Consumer, bool Authorized, byte[]? Target = null);
