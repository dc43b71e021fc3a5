using System.Collections.Concurrent;
using FastProxy.Configuration;
using FastProxy.Configuration.Values;
using FastProxy.Policies.Pipeline;
using Microsoft.Extensions.Logging;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>
/// The keys of a jwks_url, kept fresh without ever making a request wait for a scheduled refresh:
/// <list type="bullet">
/// <item>fetched when the policy is built, then again once 90% of the interval has passed (the answer's Cache-Control
/// max-age, kept between 1 minute and jwks_refresh; jwks_refresh when it gives none): the first request after that
/// starts the fetch in the background and goes on with the keys it has;</item>
/// <item>fetched at once when a token names a kid the set does not have (a key rotated in): single-flight (requests
/// arriving meanwhile wait for that same fetch and use its result) and rate-limited (at most one fetch per
/// jwks_min_interval, whatever asked for it, so a flood of made-up kids costs the key server one request per interval);</item>
/// <item>a fetch that fails (transport, status, no usable key) keeps the keys there were, is logged, and is tried
/// again after jwks_min_interval.</item>
/// </list>
/// A reload starts from the keys the previous configuration had for the same URL, so a key server that is down during
/// a reload does not leave the new policy without keys.
/// </summary>
internal sealed class JwksSource
{
    /// <summary>A max-age shorter than this is not followed: a key server that says no-cache is asked once a minute, not per request (an unknown kid still fetches at once).</summary>
    private static readonly TimeSpan MinimumRefresh = TimeSpan.FromMinutes(1);
    /// <summary>A JWK Set is a few KB; Azure AD's and Google's are under 10 KB.</summary>
    private const int MaxBody = 256 * 1024;

    /// <summary>The last keys fetched per URL, for the next configuration (reload) to start from.</summary>
    private static readonly ConcurrentDictionary<string, IReadOnlyList<JwtKeyMaterial>> s_lastGood = new(StringComparer.Ordinal);

    private readonly Uri _url;
    private readonly string _policy;
    private readonly IOutboundHttp _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _refresh;
    private readonly long _minIntervalTicks;
    private readonly TimeSpan _timeout;
    private readonly object _gate = new();

    private JwtKeySet _keys;
    private Task<JwtKeySet>? _inflight;
    private long _lastAttempt;
    private bool _attempted;
    private long _refreshDue;
    private bool _lastFailed;
    private long _fetches;

    public JwksSource(string policy, JwtOptions options, IOutboundHttp http, TimeProvider time, ILogger logger)
    {
        _url = options.JwksUrl!;
        _policy = policy;
        _http = http;
        _time = time;
        _logger = logger;
        _refresh = options.JwksRefresh;
        _minIntervalTicks = (long)(options.JwksMinInterval.TotalSeconds * time.TimestampFrequency);
        _timeout = options.JwksTimeout;
        var problems = new List<string>();
        _keys = s_lastGood.TryGetValue(_url.AbsoluteUri, out var seed) ? JwtKeySet.From(seed, problems) : JwtKeySet.Empty;
        Refresh();
    }

    /// <summary>The keys of the last successful fetch (or of the previous configuration, until the first one).</summary>
    public JwtKeySet Keys => Volatile.Read(ref _keys);

    /// <summary>Whether the last fetch failed (a kid not found may then exist all the same).</summary>
    public bool LastFetchFailed => Volatile.Read(ref _lastFailed);

    /// <summary>The fetch in flight, if any (tests wait for it).</summary>
    internal Task<JwtKeySet>? Pending
    {
        get
        {
            lock (_gate) return _inflight;
        }
    }

    /// <summary>Fetches started, for tests and diagnostics.</summary>
    public long Fetches => Interlocked.Read(ref _fetches);

    /// <summary>Per request: starts the scheduled refresh in the background when it is due. Costs a clock read.</summary>
    public void RefreshIfDue()
    {
        if (_time.GetTimestamp() >= Volatile.Read(ref _refreshDue)) Refresh();
    }

    /// <summary>
    /// A fetch to wait for: the one in flight, or a new one when jwks_min_interval has passed since the last.
    /// Null: rate-limited, answer with the keys there are.
    /// </summary>
    public Task<JwtKeySet>? Refresh()
    {
        lock (_gate)
        {
            if (_inflight is not null) return _inflight;
            long now = _time.GetTimestamp();
            if (_attempted && now - _lastAttempt < _minIntervalTicks) return null;
            _attempted = true;
            _lastAttempt = now;
            // Nothing else is due until this fetch says when; a failure sets a retry.
            Volatile.Write(ref _refreshDue, long.MaxValue);
            Interlocked.Increment(ref _fetches);
            // Task.Run: the fetch must not complete inside this lock (it clears _inflight when done).
            _inflight = Task.Run(FetchAsync);
            return _inflight;
        }
    }

    private async Task<JwtKeySet> FetchAsync()
    {
        var previous = Keys;
        try
        {
            var request = new OutboundRequest { Method = "GET", Url = _url, Timeout = _timeout, MaxResponseBytes = MaxBody };
            request.Headers.Add(new("accept", "application/jwk-set+json, application/json"));
            var response = await _http.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
            if (response.Status != 200) throw new JwksFetchException($"status {response.Status}");
            var problems = new List<string>();
            var materials = JwtKeyReader.ReadJson(response.Body, "jwks", allowSecrets: false, problems);
            var keys = JwtKeySet.From(materials, problems, previous);
            foreach (var problem in problems) JwtLog.KeyLeftOut(_logger, _policy, _url.AbsoluteUri, problem);
            if (keys.Keys.Length == 0) throw new JwksFetchException("no usable signing key in the answer");
            foreach (var old in previous.Keys)
            {
                if (Array.IndexOf(keys.Keys, old) < 0) old.Retired = true;
            }
            Volatile.Write(ref _keys, keys);
            s_lastGood[_url.AbsoluteUri] = [.. keys.Keys.Select(k => k.Material)];
            var interval = Interval(response.Header("cache-control"));
            Volatile.Write(ref _lastFailed, false);
            ScheduleIn(interval * 0.9);
            JwtLog.KeysFetched(_logger, _policy, _url.AbsoluteUri, keys.Keys.Length, (long)interval.TotalSeconds);
            return keys;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Volatile.Write(ref _lastFailed, true);
            ScheduleIn(TimeSpan.FromSeconds(_minIntervalTicks / (double)_time.TimestampFrequency));
            JwtLog.FetchFailed(_logger, _policy, _url.AbsoluteUri, e is JwksFetchException or System.Net.Http.HttpRequestException or TimeoutException or OperationCanceledException
                ? e.Message : e.GetType().Name + ": " + e.Message, previous.Keys.Length);
            return previous;
        }
        finally
        {
            lock (_gate) _inflight = null;
        }
    }

    /// <summary>Never before the rate limit allows a fetch: a due refresh that could not start would take the lock on every request.</summary>
    private void ScheduleIn(TimeSpan delay)
    {
        long due = _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);
        lock (_gate) due = Math.Max(due, _lastAttempt + _minIntervalTicks);
        Volatile.Write(ref _refreshDue, due);
    }

    /// <summary>max-age (RFC 9111 §5.2.2.1) kept between a minute and jwks_refresh; jwks_refresh without one.</summary>
    private TimeSpan Interval(string? cacheControl)
    {
        if (cacheControl is null) return _refresh;
        foreach (var part in cacheControl.Split(','))
        {
            var directive = part.Trim();
            if (directive.StartsWith("max-age=", StringComparison.OrdinalIgnoreCase) && long.TryParse(directive.AsSpan(8).Trim('"'), out long seconds) && seconds >= 0)
            {
                var maxAge = TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.FromDays(365).TotalSeconds));
                return maxAge < MinimumRefresh ? (_refresh < MinimumRefresh ? _refresh : MinimumRefresh) : maxAge < _refresh ? maxAge : _refresh;
            }
        }
        return _refresh;
    }

    /// <summary>Forgets what earlier configurations fetched (tests that reuse a URL).</summary>
    internal static void ForgetAll() => s_lastGood.Clear();

    private sealed class JwksFetchException(string message) : Exception(message);
}
