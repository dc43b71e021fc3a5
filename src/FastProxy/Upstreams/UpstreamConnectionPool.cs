namespace FastProxy.Upstreams;

/// <summary>
/// Idle keep-alive connections to one server, most recently used first: the warmest connection is reused, and the
/// oldest ones at the bottom are the ones the idle sweep closes. Bounded by max_idle_per_server.
/// For an HTTP/2 server (protocol h2c or h2) the pool hands out streams of its multiplexed connections instead
/// (<see cref="Http2UpstreamPool"/>): "renting" opens a stream, "returning" closes it.
/// </summary>
internal sealed class UpstreamConnectionPool(int maxIdle, Http2UpstreamPool? http2 = null)
{
    private readonly Http2UpstreamPool? _http2 = http2;
    private readonly Lock _lock = new();
    private readonly UpstreamConnection?[] _idle = new UpstreamConnection?[Math.Max(maxIdle, 0)];
    private int _count;
    private bool _retired;

    public int IdleCount => Volatile.Read(ref _count);

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

    /// <summary>Keeps the connection for reuse, or closes it when the pool is full or retired.</summary>
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
            if (!_retired && _count < _idle.Length)
            {
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

    /// <summary>Closes connections idle since before <paramref name="cutoffMs"/>, and all of them when it is long.MaxValue.</summary>
    public void CloseIdle(long cutoffMs)
    {
        _http2?.CloseIdle(cutoffMs);
        while (true)
        {
            UpstreamConnection? victim = null;
            lock (_lock)
            {
                if (_count == 0) return;
                // The bottom of the stack is the oldest.
                if (_idle[0]!.IdleSinceMs > cutoffMs) return;
                victim = _idle[0];
                Array.Copy(_idle, 1, _idle, 0, _count - 1);
                _idle[--_count] = null;
            }
            victim!.Dispose();
        }
    }
}
