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
        Servers = upstream.Servers;
        var balanced = new BalancedServer[Servers.Length];
        for (int i = 0; i < balanced.Length; i++) balanced[i] = Servers[i].State;
        Balancer = LoadBalancers.Create(Upstream.BalanceName(upstream.Config.Balance), balanced, LoadMetric.OpenConnections);
        ConnectTimeoutMs = (long)upstream.ConnectTimeout.TotalMilliseconds;
        ExclusionWords = PickContext.ExcludedWords(Servers.Length);
        Outliers = upstream.Outliers;
        FailureLog = upstream.FailureLog;
    }

    /// <summary>The upstream's throttle for lines about it as a whole (no server could be connected).</summary>
    public LogThrottle FailureLog { get; }

    /// <summary>The upstream's outlier detection: connect failures count here as they do for http routes.</summary>
    public OutlierDetector Outliers { get; }

    public string Name { get; }
    public UpstreamServer[] Servers { get; }
    public ILoadBalancer Balancer { get; }
    public long ConnectTimeoutMs { get; }

    /// <summary>Words of the bitset that marks servers already tried for a connection.</summary>
    public int ExclusionWords { get; }
}
