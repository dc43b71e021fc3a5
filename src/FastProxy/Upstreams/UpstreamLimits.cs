using FastProxy.Configuration;

namespace FastProxy.Upstreams;

/// <summary>
/// Per-upstream admission: circuit breaking ([upstreams.X.limits]: `max_requests` concurrent requests,
/// `max_pending` requests waiting for a new connection; beyond them 503 at once, as Envoy's circuit breakers) and the
/// retry budget ([upstreams.X.retry]: retries in flight may be at most `budget_percent` of the requests in flight,
/// with a floor of <see cref="MinRetryConcurrency"/> so that a quiet upstream can still retry). Counters only,
/// nothing allocated; without max_requests the request path does not touch them at all (the requests in flight are
/// then the sum of the servers' own counts, read only when a retry or the admin listener asks).
/// </summary>
internal sealed class UpstreamLimits
{
    /// <summary>Retries always allowed in flight however few requests there are (Envoy's min_retry_concurrency).</summary>
    public const int MinRetryConcurrency = 3;

    private readonly int _maxRequests;
    private readonly int _maxPending;
    private volatile UpstreamServer[] _servers;
    private readonly bool _countRequests;
    private int _active;
    private int _pending;
    private int _retries;
    private long _rejected;

    public UpstreamLimits(UpstreamServer[] servers, UpstreamLimitsConfig? limits, RetryConfig? retry)
    {
        _servers = servers;
        _countRequests = limits is not null;
        _maxRequests = limits?.MaxRequests ?? int.MaxValue;
        _maxPending = limits?.MaxPending ?? int.MaxValue;
        RetryAttempts = retry?.Attempts ?? 0;
        BudgetPercent = retry?.BudgetPercent ?? 0;
    }

    /// <summary>Extra tries on other servers ([retry] attempts); 0 when there is no [retry] section.</summary>
    public int RetryAttempts { get; }

    public int BudgetPercent { get; }

    /// <summary>Requests in flight to this upstream.</summary>
    public int Active
    {
        get
        {
            if (_countRequests) return Volatile.Read(ref _active);
            int sum = 0;
            foreach (var server in _servers) sum += server.State.InFlight;
            return sum;
        }
    }

    public int Pending => Volatile.Read(ref _pending);

    /// <summary>Requests refused with 503 by max_requests or max_pending.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Discovery changed the servers: without max_requests, the requests in flight are summed over the new ones.</summary>
    public void SetServers(UpstreamServer[] servers) => _servers = servers;

    /// <summary>A request starts: false (and nothing counted) when max_requests are already in flight.</summary>
    public bool TryEnter()
    {
        if (!_countRequests) return true;
        if (Interlocked.Increment(ref _active) <= _maxRequests) return true;
        Interlocked.Decrement(ref _active);
        Interlocked.Increment(ref _rejected);
        return false;
    }

    public void Exit()
    {
        if (_countRequests) Interlocked.Decrement(ref _active);
    }

    /// <summary>A request waits for a new connection: false when max_pending already wait.</summary>
    public bool TryBeginPending()
    {
        if (Interlocked.Increment(ref _pending) <= _maxPending) return true;
        Interlocked.Decrement(ref _pending);
        Interlocked.Increment(ref _rejected);
        return false;
    }

    public void EndPending() => Interlocked.Decrement(ref _pending);

    /// <summary>
    /// A retry may start when the retries already running stay within the budget. The live requests it is a share of
    /// include those between attempts (a failed exchange has left the servers' in-flight counts, but its request is
    /// still live) and this one: otherwise a burst of failures, which is exactly when retries are wanted, would find
    /// the base emptied by itself and budget_percent = 100 could refuse a retry.
    /// </summary>
    public bool TryBeginRetry()
    {
        long live = Active + Volatile.Read(ref _retries) + 1;
        int allowed = (int)Math.Max(MinRetryConcurrency, live * BudgetPercent / 100);
        if (Interlocked.Increment(ref _retries) <= allowed) return true;
        Interlocked.Decrement(ref _retries);
        return false;
    }

    public void EndRetry() => Interlocked.Decrement(ref _retries);
}
