using System.Net;
using System.Net.Security;
using System.Text;
using FastProxy.Balancing;
using FastProxy.Configuration;
using FastProxy.Tls;

namespace FastProxy.Upstreams;

/// <summary>One server of an upstream at run time: where it is, how busy it is, and its idle connections.</summary>
internal sealed class UpstreamServer
{
    public UpstreamServer(int index, ServerConfig config, int maxIdle, SslClientAuthenticationOptions? tls)
    {
        Tls = tls;
        EndPoint = config.EndPoint;
        Address = config.Address;
        State = new BalancedServer(index, config.Address, config.Weight);
        Pool = new UpstreamConnectionPool(maxIdle);
        // Host for requests that arrive without one (HTTP/1.0): the server's own address, as nginx's $proxy_host.
        HostBytes = Encoding.ASCII.GetBytes(config.Address);
    }

    public IPEndPoint EndPoint { get; }
    public string Address { get; }
    public BalancedServer State { get; }
    public UpstreamConnectionPool Pool { get; }
    public byte[] HostBytes { get; }
    /// <summary>Null: plain TCP. Else how to handshake with this server (SNI, trust), shared by its connections.</summary>
    public SslClientAuthenticationOptions? Tls { get; }
}

/// <summary>An [upstreams.NAME] section at run time: its servers, balancer and timeouts.</summary>
internal sealed class Upstream
{
    /// <summary>How long a pooled connection may sit idle before the proxy closes it (nginx's keepalive_timeout default).</summary>
    public static readonly TimeSpan PoolIdleTimeout = TimeSpan.FromSeconds(60);

    public Upstream(UpstreamConfig config)
    {
        Config = config;
        Name = config.Name;
        Servers = new UpstreamServer[config.Servers.Count];
        var balanced = new BalancedServer[Servers.Length];
        var trust = UpstreamTls.LoadTrust(config);
        for (int i = 0; i < Servers.Length; i++)
        {
            var server = config.Servers[i];
            Servers[i] = new UpstreamServer(i, server, config.MaxIdlePerServer, UpstreamTls.For(config, server, trust));
            balanced[i] = Servers[i].State;
        }
        Balancer = LoadBalancers.Create(BalanceName(config.Balance), balanced);
        ConnectTimeout = config.ConnectTimeout;
        ResponseTimeoutMs = (long)config.ResponseTimeout.TotalMilliseconds;
    }

    public UpstreamConfig Config { get; }
    public string Name { get; }
    public UpstreamServer[] Servers { get; }
    public ILoadBalancer Balancer { get; }
    public TimeSpan ConnectTimeout { get; }
    public long ResponseTimeoutMs { get; }

    /// <summary>Words of the bitset that marks servers already tried for a request.</summary>
    public int ExclusionWords => (Servers.Length + 63) >> 6;

    public static string BalanceName(BalanceKind kind) => kind switch
    {
        BalanceKind.RoundRobin => "round_robin",
        BalanceKind.LeastConn => "least_conn",
        BalanceKind.IpHash => "ip_hash",
        BalanceKind.Weighted => "weighted",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public void CloseIdleConnections(long cutoffMs)
    {
        foreach (var server in Servers) server.Pool.CloseIdle(cutoffMs);
    }
}
