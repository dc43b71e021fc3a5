namespace FastProxy.Upstreams;

/// <summary>
/// The HTTP/2 connections to one server (upstream protocol h2c or h2), shared by many requests at once: each request
/// is one stream. A request takes a stream on the first connection below the server's SETTINGS_MAX_CONCURRENT_STREAMS;
/// when every connection is full, another is opened, up to <see cref="MaxConnections"/>; beyond that the request waits
/// for a stream to end (FIFO-ish: every waiter is woken and tries again), within the time it has for getting a
/// connection (connect_timeout, shortened by request_timeout), and counts against limits.max_pending while it waits
/// (it waits inside the proxy's connect step). Only one connection is made at a time: a burst of requests to an idle
/// server waits for the first connection's SETTINGS instead of opening one connection each.
/// Connections without streams are closed by the idle sweep like idle HTTP/1.1 connections, and all of them once
/// the configuration is replaced (<see cref="Retire"/>: busy ones when their last stream ends).
/// </summary>
internal sealed class Http2UpstreamPool(UpstreamServer server, string upstreamName)
{
    /// <summary>
    /// Connections per server. One connection carries the server's stream limit (typically 100 or more) at once; a
    /// server that allows only a few streams per connection is asking for restraint, so past this many connections
    /// requests queue rather than open more.
    /// </summary>
    public const int MaxConnections = 8;

    private readonly Lock _lock = new();
    private readonly List<Http2UpstreamConnection> _connections = [];
    private List<TaskCompletionSource>? _waiters;
    private bool _connecting;
    private bool _retired;

    public UpstreamServer Server { get; } = server;
    public string UpstreamName { get; } = upstreamName;

    /// <summary>Live connections (for tests and the admin view).</summary>
    public int ConnectionCount
    {
        get { lock (_lock) return _connections.Count; }
    }

    /// <summary>A stream on a connection that has room, without waiting; null when none has.</summary>
    public UpstreamConnection? TryOpenStream()
    {
        var stream = TryReserve();
        return stream is null ? null : new UpstreamConnection(Server, stream) { Requests = 1 };
    }

    private Http2UpstreamStream? TryReserve()
    {
        lock (_lock)
        {
            foreach (var connection in _connections)
            {
                var stream = connection.TryReserveStream();
                if (stream is not null) return stream;
            }
        }
        return null;
    }

    /// <summary>
    /// A stream, on a connection that has room, on a new connection, or, at <see cref="MaxConnections"/>, once one
    /// frees up. Throws as <see cref="UpstreamConnection.ConnectAsync"/> does when the connection cannot be made, and
    /// <see cref="UpstreamBusyException"/> when no stream freed up within <paramref name="timeout"/>.
    /// </summary>
    public async ValueTask<UpstreamConnection> OpenStreamAsync(TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            bool connect = false;
            TaskCompletionSource? waiter = null;
            Http2UpstreamStream? stream;
            lock (_lock)
            {
                stream = null;
                foreach (var connection in _connections)
                {
                    stream = connection.TryReserveStream();
                    if (stream is not null) break;
                }
                if (stream is null)
                {
                    if (!_connecting && _connections.Count < MaxConnections)
                    {
                        _connecting = true;
                        connect = true;
                    }
                    else
                    {
                        waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        (_waiters ??= []).Add(waiter);
                    }
                }
            }
            // Fresh streams: a failure on them is the server's, not a stale connection's.
            if (stream is not null) return new UpstreamConnection(Server, stream);

            long left = deadline - Environment.TickCount64;
            if (connect)
            {
                Http2UpstreamConnection? made = null;
                try
                {
                    made = await Http2UpstreamConnection.ConnectAsync(this, TimeSpan.FromMilliseconds(Math.Max(left, 1))).ConfigureAwait(false);
                }
                finally
                {
                    lock (_lock)
                    {
                        _connecting = false;
                        if (made is not null && !_retired) _connections.Add(made);
                    }
                    // Either way the waiters try again: on the new connection, or by connecting themselves.
                    WakeWaiters();
                }
                // A retired pool (its configuration was replaced mid-request) still serves this request, then lets go.
                var mine = made!.TryReserveStream();
                if (_retired) made.CloseWhenIdle();
                if (mine is not null) return new UpstreamConnection(Server, mine);
                continue;
            }

            if (left <= 0 || !await waiter!.Task.WaitAsync(TimeSpan.FromMilliseconds(left)).ContinueWith(static t => t.IsCompletedSuccessfully, TaskScheduler.Default).ConfigureAwait(false))
            {
                lock (_lock) _waiters?.Remove(waiter!);
                throw new UpstreamBusyException($"all {MaxConnections} HTTP/2 connections are at the server's stream limit");
            }
        }
    }

    /// <summary>A stream ended or a connection changed: whoever waits for room looks again.</summary>
    internal void WakeWaiters()
    {
        List<TaskCompletionSource>? waiters;
        lock (_lock)
        {
            waiters = _waiters;
            if (waiters is null || waiters.Count == 0) return;
            _waiters = null;
        }
        foreach (var waiter in waiters) waiter.TrySetResult();
    }

    /// <summary>The connection can take no more streams (GOAWAY, closed): it leaves the pool.</summary>
    internal void Remove(Http2UpstreamConnection connection)
    {
        lock (_lock) _connections.Remove(connection);
        WakeWaiters();
    }

    /// <summary>Closes connections without streams since before <paramref name="cutoffMs"/> (all idle ones at long.MaxValue).</summary>
    public void CloseIdle(long cutoffMs)
    {
        List<Http2UpstreamConnection>? victims = null;
        lock (_lock)
        {
            for (int i = _connections.Count - 1; i >= 0; i--)
            {
                var connection = _connections[i];
                if (!connection.IsIdleSince(cutoffMs)) continue;
                (victims ??= []).Add(connection);
                _connections.RemoveAt(i);
            }
        }
        if (victims is null) return;
        foreach (var victim in victims) victim.Close();
    }

    /// <summary>
    /// The server was drained: its connections leave the pool, idle ones closing now and busy ones after their last
    /// stream. Unlike <see cref="Retire"/> the pool stays usable: a request after the server is enabled connects anew.
    /// </summary>
    public void Drain()
    {
        List<Http2UpstreamConnection> all;
        lock (_lock)
        {
            all = [.. _connections];
            _connections.Clear();
        }
        foreach (var connection in all) connection.CloseWhenIdle();
        WakeWaiters();
    }

    /// <summary>The configuration was replaced: idle connections close now, busy ones after their last stream.</summary>
    public void Retire()
    {
        List<Http2UpstreamConnection> all;
        lock (_lock)
        {
            _retired = true;
            all = [.. _connections];
            _connections.Clear();
        }
        foreach (var connection in all) connection.CloseWhenIdle();
        WakeWaiters();
    }
}
