using FastProxy.Balancing;
using FastProxy.Diagnostics;
using FastProxy.Upstreams;

namespace FastProxy.Tcp;

/// <summary>
/// An upstream as tcp listeners use it: the same servers (and so the same <see cref="BalancedServer"/> state) as
/// its http routes, but a balancer of its own whose least_conn counts open connections, since an L4 connection
/// carries one client for its whole life (<see cref="LoadMetric.OpenConnections"/>).
/// </summary>
internal sealed class TcpUpstream
{
    public TcpUpstream(Upstream upstream)
    {
        Name = upstream.Name;
        _upstream = upstream;
        ConnectTimeoutMs = (long)upstream.ConnectTimeout.TotalMilliseconds;
        Outliers = upstream.Outliers;
        FailureLog = upstream.FailureLog;
    }

    /// <summary>The upstream's throttle for lines about it as a whole (no server could be connected).</summary>
    public LogThrottle FailureLog { get; }

    /// <summary>The upstream's outlier detection: connect failures count here as they do for http routes.</summary>
    public OutlierDetector Outliers { get; }

    private readonly Upstream _upstream;

    public string Name { get; }
    /// <summary>
    /// The upstream's current servers (discovery may replace them): a connection reads this once and picks within it,
    /// with <see cref="ServerSet.TcpBalancer"/>.
    /// </summary>
    public ServerSet Set => _upstream.Set;
    public long ConnectTimeoutMs { get; }
}
