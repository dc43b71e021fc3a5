using FastProxy.Diagnostics;

namespace FastProxy.Outbound.Redis;

/// <summary>
/// The circuit breaker in front of one Redis connection, so a dead or stalled Redis costs no timeout per request.
/// Closed: every call goes out; <see cref="FailuresToOpen"/> failures in a row (an error, a refused connection, an
/// answer later than [redis] timeout) open it. Open: calls are not made (the caller answers as a store error at
/// once), except one probe every <see cref="ProbeInterval"/>; the probe's success closes it, its failure waits for the
/// next. Each change of state is logged once (warning) and shows in <see cref="IsOpen"/> (the breaker-open metric).
/// </summary>
/// <remarks>
/// The closed path is one volatile read; counting failures and the transitions take a lock, which only failures
/// and the probe reach.
/// </remarks>
internal sealed class RedisBreaker
{
    /// <summary>Three, not one: a single lost answer (a GC pause on the Redis host, one slow fork for a save) should not stop enforcement.</summary>
    public const int FailuresToOpen = 3;

    /// <summary>How often an open breaker lets one call through to see whether Redis is back.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    private readonly string _address;
    private readonly Func<long> _nowMs;
    private readonly Lock _lock = new();
    private volatile bool _open;
    private int _failures;
    private long _openedAtMs;
    private long _nextProbeMs;
    private bool _probeOut;
    private long _opens;

    public RedisBreaker(string address, Func<long>? nowMs = null)
    {
        _address = address;
        _nowMs = nowMs ?? (static () => Environment.TickCount64);
    }

    public bool IsOpen => _open;

    /// <summary>How many times it opened since the process started.</summary>
    public long Opens => Volatile.Read(ref _opens);

    /// <summary>True while open with no probe due: the caller should not even try (the cheap test, no lock).</summary>
    public bool Refuses => _open && _nowMs() < Volatile.Read(ref _nextProbeMs);

    /// <summary>
    /// May a call go out? Closed: yes. Open: only the first caller once a probe is due (<paramref name="probe"/> true),
    /// who must then report its outcome.
    /// </summary>
    public bool TryEnter(out bool probe)
    {
        probe = false;
        if (!_open) return true;
        lock (_lock)
        {
            if (!_open) return true;
            long now = _nowMs();
            if (_probeOut || now < _nextProbeMs) return false;
            _probeOut = true;
            probe = true;
            return true;
        }
    }

    public void Success(bool probe)
    {
        if (!_open)
        {
            if (Volatile.Read(ref _failures) != 0) Volatile.Write(ref _failures, 0);
            return;
        }
        long downMs;
        lock (_lock)
        {
            // Any success shows Redis answers; a call that left before the breaker opened counts as well as the probe.
            if (probe) _probeOut = false;
            if (!_open) return;
            _open = false;
            _failures = 0;
            _probeOut = false;
            downMs = _nowMs() - _openedAtMs;
        }
        Log.RedisStoreBack(_address, downMs);
    }

    public void Failure(bool probe, string reason)
    {
        int failures;
        lock (_lock)
        {
            long now = _nowMs();
            if (_open)
            {
                if (probe)
                {
                    _probeOut = false;
                    _nextProbeMs = now + (long)ProbeInterval.TotalMilliseconds;
                }
                return;
            }
            failures = ++_failures;
            if (failures < FailuresToOpen) return;
            _open = true;
            _openedAtMs = now;
            _nextProbeMs = now + (long)ProbeInterval.TotalMilliseconds;
            _probeOut = false;
            _opens++;
        }
        Log.RedisStoreDown(_address, reason, failures, (long)ProbeInterval.TotalMilliseconds);
    }
}
