using FastProxy.Forwarding;
using FastProxy.Observability;
using FastProxy.Tcp;
using FastProxy.Transport;
using Microsoft.Extensions.ObjectPool;

namespace FastProxy.Hosting;

/// <summary>What lives for the whole process, across reloads: the heartbeat, the connection cap, pooled connection state.</summary>
internal sealed class ProxyServices : IDisposable
{
    private int _active;

    public ProxyServices(int maxConnections)
    {
        Limiter = new ConnectionLimiter(maxConnections);
        // Pooled per-connection state: a new client connection reuses the parser state and arrays of a finished one.
        ConnectionPool = new DefaultObjectPool<Http1Connection>(new Http1ConnectionPolicy(), maximumRetained: 1024);
        TcpConnectionPool = TcpConnection.CreatePool();
        Metrics = new Observability.Metrics.MetricsRegistry(Observability);
        AccessLog = new(Observability);
        FastProxy.Observability.Tracing.TracingCounters.Register();
        FastProxy.Observability.Metrics.JsonBodyMetrics.Register();
    }

    public Heartbeat Heartbeat { get; } = new();

    /// <summary>Who is told of each finished request (metrics, access log, tracing); empty: requests are not recorded.</summary>
    public ObservabilityHub Observability { get; } = new();

    /// <summary>The Prometheus metrics served on the admin listener's /metrics (recording only while [admin] is configured).</summary>
    public Observability.Metrics.MetricsRegistry Metrics { get; }
    /// <summary>[access_log]: its writer follows reloads (an observer of <see cref="Observability"/> while on); SIGUSR1 reopens its file.</summary>
    public FastProxy.Observability.AccessLog.AccessLogSink AccessLog { get; }

    public ConnectionLimiter Limiter { get; }

    public ObjectPool<Http1Connection> ConnectionPool { get; }

    /// <summary>The same for tcp listeners' connections.</summary>
    public ObjectPool<TcpConnection> TcpConnectionPool { get; }

    /// <summary>Set on SIGTERM: idle keep-alive connections are closed, busy ones close after their response.</summary>
    public volatile bool Draining;

    /// <summary>
    /// The configuration generation: each reload adds one. Long-lived HTTP/2 client connections compare it with the
    /// one they started under, and close gracefully (GOAWAY) when it moved on.
    /// </summary>
    public int Generation => Volatile.Read(ref _generation);

    private int _generation;

    public void NextGeneration() => Interlocked.Increment(ref _generation);

    /// <summary>Client connections currently open (drain waits for this to reach zero).</summary>
    public int ActiveConnections => Volatile.Read(ref _active);

    public void ConnectionOpened() => Interlocked.Increment(ref _active);

    public void ConnectionClosed() => Interlocked.Decrement(ref _active);

    public void Dispose() => Heartbeat.Dispose();

    private sealed class Http1ConnectionPolicy : PooledObjectPolicy<Http1Connection>
    {
        public override Http1Connection Create() => new();

        public override bool Return(Http1Connection obj) => obj.ResetForPool();
    }
}
