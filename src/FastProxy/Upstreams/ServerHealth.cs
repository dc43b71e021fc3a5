using FastProxy.Balancing;

namespace FastProxy.Upstreams;

/// <summary>
/// Whether one server may take traffic, from the three sources that can take it out: active checks (down after
/// `unhealthy` failed checks in a row, back after `healthy` passes), outlier detection on live traffic (ejected
/// until a time), and the operator (drained through the admin listener until enabled again). The result is published to <see cref="BalancedServer.IsAvailable"/>, the one flag every balancer
/// already reads, so a pick costs nothing more than before. Also keeps the totals the admin listener reports.
/// </summary>
/// <remarks>
/// The hot path touches this only with <see cref="RequestSucceeded"/> (a read and, when a failure streak was
/// running, a write) and one counter increment per request: failures, ejections and checks are the rare events
/// and take the upstream's lock (<see cref="OutlierDetector"/>).
/// </remarks>
internal sealed class ServerHealth
{
    private readonly BalancedServer _state;
    private volatile bool _activeUp = true;
    private volatile bool _drained;
    private readonly Lock _publishLock = new();
    private long _ejectedUntilMs;

    // Totals for /upstreams.
    private long _requests;
    private long _failures;

    public ServerHealth(BalancedServer state) => _state = state;

    /// <summary>Active checks say the server is up (true when none are configured).</summary>
    public bool ActiveUp => _activeUp;

    /// <summary>When the current ejection ends (Heartbeat ms); 0: not ejected.</summary>
    public long EjectedUntilMs => Volatile.Read(ref _ejectedUntilMs);

    public bool Ejected => EjectedUntilMs != 0;

    /// <summary>
    /// Drained by the operator (POST /upstreams/NAME/servers/ADDRESS/drain): no balancer picks it, health checks go on,
    /// and it stays out, whatever they say, until enabled again.
    /// </summary>
    public bool Drained => _drained;

    /// <summary>Times outlier detection ejected this server (the next ejection lasts longer the more there were).</summary>
    public int Ejections { get; internal set; }

    /// <summary>Live-traffic failures in a row (connect errors, resets, timeouts, 5xx); written under the detector's lock or reset to 0.</summary>
    internal int ConsecutiveFailures;

    /// <summary>When this server last came back from an ejection (to forgive old ejections after a good stretch).</summary>
    internal long ReturnedAtMs;

    /// <summary>How long the last ejection lasted.</summary>
    internal long LastEjectionMs;

    /// <summary>max_ejected_percent kept this server in and that was logged (under the detector's lock).</summary>
    internal bool EjectionRefusedLogged;

    // Active check streaks: written by the one checker loop of this server only.
    internal int CheckPasses;
    internal int CheckFailures;

    public long Requests => Interlocked.Read(ref _requests);

    public long Failures => Interlocked.Read(ref _failures);

    public void CountRequest() => Interlocked.Increment(ref _requests);

    public void CountFailure() => Interlocked.Increment(ref _failures);

    public void SetActiveUp(bool up)
    {
        _activeUp = up;
        Publish();
    }

    public void SetDrained(bool drained)
    {
        _drained = drained;
        Publish();
    }

    internal void SetEjectedUntil(long untilMs)
    {
        Volatile.Write(ref _ejectedUntilMs, untilMs);
        Publish();
    }

    /// <summary>Copies the state of the same server in the previous configuration, so a reload does not bring a dead server back.</summary>
    internal void CarryOver(ServerHealth previous)
    {
        _activeUp = previous._activeUp;
        _drained = previous._drained;
        CheckPasses = previous.CheckPasses;
        CheckFailures = previous.CheckFailures;
        Volatile.Write(ref _ejectedUntilMs, previous.EjectedUntilMs);
        Ejections = previous.Ejections;
        ReturnedAtMs = previous.ReturnedAtMs;
        LastEjectionMs = previous.LastEjectionMs;
        Interlocked.Exchange(ref _requests, previous.Requests);
        Interlocked.Exchange(ref _failures, previous.Failures);
        Publish();
    }

    // Under a lock: a check, an ejection and a drain come from different threads, and without it one could publish
    // "available" from a field read just before another changed it (a drained server picked again). Rare events only:
    // the request path only reads IsAvailable.
    private void Publish()
    {
        lock (_publishLock) _state.IsAvailable = _activeUp && !_drained && Volatile.Read(ref _ejectedUntilMs) == 0;
    }
}
