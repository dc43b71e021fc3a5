using FastProxy.Balancing;

namespace FastProxy.Upstreams;

/// <summary>
/// Idle keep-alive connections to one server, most recently used first: the warmest connection is reused, and the
/// oldest ones at the bottom are the ones the idle sweep closes.
/// How many are kept adapts to the load: up to the most requests in flight at once to this server lately (a
/// connection each), so that a steady load of any concurrency reuses connections instead of opening and closing them.
/// When the load falls, the number kept follows it down slowly (<see cref="Sweep"/>). It never exceeds the ceiling:
/// max_idle_per_server when the config sets it, else this server's share of the file-descriptor limit.
/// For an HTTP/2 server (protocol h2c or h2) the pool hands out streams of its multiplexed connections instead
/// (<see cref="Http2UpstreamPool"/>): "renting" opens a stream, "returning" closes it.
/// </summary>
internal sealed class UpstreamConnectionPool
{
    /// <summary>
    /// How long the load must stay below the number kept before that number starts to fall: a pause between bursts of
    /// a few seconds keeps their connections.
    /// </summary>
    internal const long DecayHoldMs = 5_000;

    /// <summary>Each sweep after the hold (one a second) drops 1/32 of the excess over the load: halved in about 22 s.</summary>
    private const int DecayShift = 5;

    /// <summary>Slots the stack starts with (it grows by doubling as the load asks for more, up to the ceiling).</summary>
    private const int InitialSlots = 16;

    private readonly Http2UpstreamPool? _http2;
    private readonly BalancedServer _load;
    private readonly int _ceiling;
    private readonly Lock _lock = new();
    private UpstreamConnection?[] _idle;
    private int _count;
    /// <summary>The recent peak of requests in flight, decayed by the sweep: how many idle connections to keep.</summary>
    private int _target;
    /// <summary>When the load last reached <see cref="_target"/> (the decay waits <see cref="DecayHoldMs"/> after it).</summary>
    private long _peakSeenMs;
    private bool _retired;
    private bool _draining;

    /// <param name="load">The server's counters: its requests in flight and their peak size the pool.</param>
    /// <param name="ceiling">The most idle connections ever kept (max_idle_per_server, or the descriptor share).</param>
    public UpstreamConnectionPool(BalancedServer load, int ceiling, Http2UpstreamPool? http2 = null)
    {
        _load = load;
        _ceiling = Math.Max(ceiling, 0);
        _http2 = http2;
        _idle = new UpstreamConnection?[http2 is null ? Math.Min(_ceiling, InitialSlots) : 0];
    }

    public int IdleCount => Volatile.Read(ref _count);

    /// <summary>How many idle connections the pool would keep now.</summary>
    public int IdleLimit
    {
        get
        {
            lock (_lock) return Limit();
        }
    }

    /// <summary>Under the lock: the recent peak (or the current one, when the load grows faster than the sweep) within the ceiling.</summary>
    private int Limit() => Math.Min(_ceiling, Math.Max(_target, _load.PeakInFlight));

    public UpstreamConnection? TryRent()
    {
        if (_http2 is not null) return _http2.TryOpenStream();
        while (true)
        {
            UpstreamConnection? connection;
            lock (_lock)
            {
                if (_count == 0) return null;
                connection = _idle[--_count];
                _idle[_count] = null;
            }
            if (connection!.IsReusable()) return connection;
            connection.Dispose();
        }
    }

    /// <summary>Keeps the connection for reuse, or closes it when the pool is full, retired or draining.</summary>
    public void Return(UpstreamConnection connection, long nowMs)
    {
        if (_http2 is not null)
        {
            // The stream is over; its connection stays with the HTTP/2 pool.
            connection.Dispose();
            return;
        }
        connection.IdleSinceMs = nowMs;
        connection.OnIdle();
        lock (_lock)
        {
            // The request this connection served is still counted in flight, so the peak is at least 1 here.
            if (!_retired && !_draining && _count < Limit())
            {
                // Only when the load reaches a new high: the steady state reuses the slots it has.
                if (_count == _idle.Length) Array.Resize(ref _idle, Math.Min(_ceiling, Math.Max(_idle.Length * 2, InitialSlots)));
                _idle[_count++] = connection;
                return;
            }
        }
        connection.Dispose();
    }

    /// <summary>
    /// The configuration this pool belongs to was replaced: close what is idle, and from now on close what comes back
    /// (a request in flight at the reload finishes on its connection, which must not then sit here forever).
    /// </summary>
    public void Retire()
    {
        lock (_lock) _retired = true;
        _http2?.Retire();
        CloseIdle(long.MaxValue);
    }

    /// <summary>
    /// The server was drained (true) or enabled again (false). Draining: idle connections close now, busy ones when
    /// their request ends (they are not kept); HTTP/2 connections close once their last stream ends. Enabled: the pool
    /// keeps connections again (new ones are opened as requests come).
    /// </summary>
    public void SetDraining(bool draining)
    {
        lock (_lock) _draining = draining;
        if (!draining) return;
        _http2?.Drain();
        CloseIdle(long.MaxValue);
    }

    /// <summary>
    /// The heartbeat's sweep (once a second): the number kept follows the load (up at once to a new peak; down by
    /// 1/32 of the excess a sweep once the load has stayed below it for <see cref="DecayHoldMs"/>), then connections
    /// idle since before <paramref name="idleCutoffMs"/>, and the oldest beyond that number, close.
    /// </summary>
    public void Sweep(long nowMs, long idleCutoffMs)
    {
        if (_http2 is null)
        {
            lock (_lock)
            {
                // Under the lock, so that no Return sees the new window (the requests in flight now) with the old target.
                int peak = _load.TakePeakInFlight();
                if (peak >= _target)
                {
                    _target = peak;
                    _peakSeenMs = nowMs;
                }
                else if (nowMs - _peakSeenMs >= DecayHoldMs)
                {
                    _target -= Math.Max(1, (_target - peak) >> DecayShift);
                }
            }
        }
        CloseIdle(idleCutoffMs);
    }

    /// <summary>
    /// Closes connections idle since before <paramref name="cutoffMs"/> (all of them when it is long.MaxValue), and the
    /// oldest ones beyond the number to keep. One pass, so that a large pool retired or shrunk is not shifted per victim.
    /// </summary>
    public void CloseIdle(long cutoffMs)
    {
        _http2?.CloseIdle(cutoffMs);
        UpstreamConnection?[] victims;
        lock (_lock)
        {
            // The bottom of the stack is the oldest: IdleSinceMs grows from the bottom up.
            int excess = _count - Limit();
            int closing = 0;
            while (closing < _count && (closing < excess || _idle[closing]!.IdleSinceMs <= cutoffMs)) closing++;
            if (closing == 0)
            {
                ShrinkSlots();
                return;
            }
            // Allocates, but only when something closes (a sweep or a reload, never a request).
            victims = _idle[..closing];
            Array.Copy(_idle, closing, _idle, 0, _count - closing);
            Array.Clear(_idle, _count - closing, closing);
            _count -= closing;
            ShrinkSlots();
        }
        foreach (var victim in victims) victim!.Dispose();
    }

    /// <summary>Under the lock: after a peak has passed, gives back most of the slots it needed (not per request: per sweep).</summary>
    private void ShrinkSlots()
    {
        int wanted = Math.Max(Math.Max(_count, Limit()), InitialSlots);
        if (_idle.Length >= 4 * wanted) Array.Resize(ref _idle, 2 * wanted);
    }
}
