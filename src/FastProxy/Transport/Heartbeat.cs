namespace FastProxy.Transport;

/// <summary>Something with deadlines: checked by the <see cref="Heartbeat"/> a few times a second.</summary>
internal interface IHeartbeatTarget
{
    /// <summary>Called from the heartbeat thread; must be quick and must not throw.</summary>
    void OnHeartbeat(long nowMs);
}

/// <summary>A connection that can be cut off (at the end of a graceful stop).</summary>
internal interface IAbortable
{
    void Abort();
}

/// <summary>
/// One timer for all connections' timeouts, as Kestrel does: a connection arms a deadline by writing a number,
/// and the heartbeat fires it. No timer, CancellationTokenSource or allocation per request.
/// </summary>
internal sealed class Heartbeat : IDisposable
{
    /// <summary>Resolution of every timeout: fine enough for sub-second test timeouts, cheap over 100k connections.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    private readonly Lock _lock = new();
    private IHeartbeatTarget?[] _targets = new IHeartbeatTarget?[64];
    private int[] _free = new int[64];
    private int _freeCount;
    private int _count;
    private readonly Timer _timer;
    private int _running;

    public Heartbeat()
    {
        _timer = new Timer(static s => ((Heartbeat)s!).Tick(), this, Interval, Interval);
    }

    public static long NowMs => Environment.TickCount64;

    /// <summary>Registers a target; returns the slot to pass to <see cref="Unregister"/>.</summary>
    public int Register(IHeartbeatTarget target)
    {
        lock (_lock)
        {
            int slot;
            if (_freeCount > 0)
            {
                slot = _free[--_freeCount];
            }
            else
            {
                if (_count == _targets.Length)
                {
                    Array.Resize(ref _targets, _targets.Length * 2);
                    Array.Resize(ref _free, _free.Length * 2);
                }
                slot = _count++;
            }
            Volatile.Write(ref _targets[slot], target);
            return slot;
        }
    }

    public void Unregister(int slot)
    {
        lock (_lock)
        {
            _targets[slot] = null;
            _free[_freeCount++] = slot;
        }
    }

    private void Tick()
    {
        // A slow tick must not pile up behind itself.
        if (Interlocked.Exchange(ref _running, 1) == 1) return;
        try
        {
            long now = NowMs;
            var targets = Volatile.Read(ref _targets);
            int count = Volatile.Read(ref _count);
            for (int i = 0; i < count && i < targets.Length; i++)
            {
                var target = Volatile.Read(ref targets[i]);
                target?.OnHeartbeat(now);
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Calls <paramref name="action"/> on every registered target (shutdown uses it to cut what is left).</summary>
    public void ForEach(Action<IHeartbeatTarget> action)
    {
        IHeartbeatTarget?[] snapshot;
        lock (_lock) snapshot = _targets[.._count];
        foreach (var target in snapshot)
        {
            if (target is not null) action(target);
        }
    }

    public void Dispose() => _timer.Dispose();
}
