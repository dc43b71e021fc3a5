namespace FastProxy.Diagnostics;

/// <summary>The failures of one server (or upstream, or listener) whose log lines are throttled, each on its own.</summary>
internal enum RepeatedFailure
{
    /// <summary>A connect refused or timed out, a TLS handshake or HTTP/2 start that failed.</summary>
    Connect,
    /// <summary>A response malformed or cut short, a reset, a GOAWAY with an error.</summary>
    Response,
    /// <summary>No response within response_timeout or request_timeout.</summary>
    Timeout,
    /// <summary>A tcp connection closed because no server of the upstream could be connected.</summary>
    NoServer,
    /// <summary>A listener's connection closed for a malformed, cut or late PROXY protocol header (proxy_protocol).</summary>
    ProxyHeader,
    /// <summary>A listener's connection closed because its peer may not send PROXY protocol headers (not in trusted_proxies).</summary>
    UntrustedPeer,
}

/// <summary>
/// One line per <see cref="IntervalMs"/> for a failure that repeats, per server and kind: a dead server under load
/// fails every request, and a line per request (56 in a second with 4 clients) buries everything else. The first
/// failure is logged at once; those within the next interval are only counted, and the next line says how many it
/// stands for (<see cref="Repeats"/>), or the heartbeat does (<see cref="TryFlush"/>) when no further failure comes.
/// State changes (down, up, ejected, back) are not throttled: each happens once.
/// </summary>
/// <remarks>
/// On the request path: lock-free, and allocation-free unless a line is written. A race between two failures at the
/// end of an interval lets one of them log; a failure counted while the heartbeat flushes lands in the next interval.
/// </remarks>
internal sealed class LogThrottle
{
    /// <summary>Ten seconds: a new problem still shows at once, an ongoing one costs six lines a minute at most.</summary>
    public const long IntervalMs = 10_000;

    private const int Kinds = (int)RepeatedFailure.UntrustedPeer + 1;

    private readonly Slot[] _slots = new Slot[Kinds];

    private struct Slot
    {
        /// <summary>When the last line of this kind was written (TickCount64 ms); 0: never.</summary>
        public long LoggedAtMs;
        /// <summary>Failures of this kind since then that were not written.</summary>
        public int Suppressed;
    }

    /// <summary>
    /// True when a failure of <paramref name="kind"/> is to be logged now, with the failures left out before it;
    /// false when it was counted instead.
    /// </summary>
    public bool ShouldLog(RepeatedFailure kind, out Repeats repeats) => ShouldLog(kind, Environment.TickCount64, out repeats);

    internal bool ShouldLog(RepeatedFailure kind, long nowMs, out Repeats repeats)
    {
        ref var slot = ref _slots[(int)kind];
        long last = Volatile.Read(ref slot.LoggedAtMs);
        if ((last != 0 && nowMs - last < IntervalMs) || Interlocked.CompareExchange(ref slot.LoggedAtMs, Stamp(nowMs), last) != last)
        {
            Interlocked.Increment(ref slot.Suppressed);
            repeats = default;
            return false;
        }
        repeats = new Repeats(Interlocked.Exchange(ref slot.Suppressed, 0), last == 0 ? 0 : nowMs - last);
        return true;
    }

    /// <summary>
    /// Heartbeat: failures of <paramref name="kind"/> left out while its interval is over and no further failure came
    /// to say so. True (and a line to write) at most once per interval.
    /// </summary>
    public bool TryFlush(RepeatedFailure kind, long nowMs, out Repeats repeats)
    {
        ref var slot = ref _slots[(int)kind];
        repeats = default;
        if (Volatile.Read(ref slot.Suppressed) == 0) return false;
        long last = Volatile.Read(ref slot.LoggedAtMs);
        if (nowMs - last < IntervalMs || Interlocked.CompareExchange(ref slot.LoggedAtMs, Stamp(nowMs), last) != last) return false;
        repeats = new Repeats(Interlocked.Exchange(ref slot.Suppressed, 0), nowMs - last);
        return repeats.Count > 0;
    }

    /// <summary>
    /// The same server in the configuration a reload replaces: its intervals and counts go on, so a reload neither
    /// repeats a line nor loses a count.
    /// </summary>
    public void CarryOver(LogThrottle previous)
    {
        for (int i = 0; i < _slots.Length; i++)
        {
            Volatile.Write(ref _slots[i].LoggedAtMs, Volatile.Read(ref previous._slots[i].LoggedAtMs));
            Volatile.Write(ref _slots[i].Suppressed, Interlocked.Exchange(ref previous._slots[i].Suppressed, 0));
        }
    }

    /// <summary>0 means "never"; a clock reading of 0 (a machine up for less than a millisecond) is taken as 1.</summary>
    private static long Stamp(long nowMs) => nowMs == 0 ? 1 : nowMs;
}

/// <summary>Failures left out of the log before the line being written, over how long.</summary>
internal readonly record struct Repeats(int Count, long OverMs)
{
    /// <summary>Whole seconds, at least 1.</summary>
    public long Seconds => Math.Max(1, (OverMs + 500) / 1000);

    /// <summary>" (55 more like this in the last 10s)", or nothing: appended to the line.</summary>
    public string Suffix => Count == 0 ? "" : $" ({Count} more like this in the last {Seconds}s)";
}
