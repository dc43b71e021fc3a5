using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FastProxy.Balancing;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Tls;

namespace FastProxy.Upstreams;

/// <summary>One server of an upstream at run time: where it is, how busy it is, and its idle connections.</summary>
internal sealed class UpstreamServer
{
    /// <param name="maxIdle">The most idle connections kept (the pool keeps what the load needs, up to this).</param>
    /// <param name="carriedFrom">The same address's balancing state in the generation being replaced: its counters are shared.</param>
    public UpstreamServer(int index, ServerConfig config, int maxIdle, SslClientAuthenticationOptions? tls,
        UpstreamProtocol protocol = UpstreamProtocol.Http1, string upstreamName = "", BalancedServer? carriedFrom = null)
    {
        Tls = tls;
        EndPoint = config.EndPoint;
        Address = config.Address;
        State = new BalancedServer(index, config.Address, config.Weight, carriedFrom);
        if (protocol != UpstreamProtocol.Http1) Http2 = new Http2UpstreamPool(this, upstreamName);
        Pool = new UpstreamConnectionPool(State, maxIdle, Http2);
        Health = new ServerHealth(State);
        // Host for requests that arrive without one (HTTP/1.0): the server's own address, as nginx's $proxy_host.
        HostBytes = Encoding.ASCII.GetBytes(config.Address);
    }

    public IPEndPoint EndPoint { get; }
    public string Address { get; }
    public BalancedServer State { get; }
    public UpstreamConnectionPool Pool { get; }
    /// <summary>The multiplexed HTTP/2 connections (protocol h2c or h2); null for HTTP/1.1 servers.</summary>
    public Http2UpstreamPool? Http2 { get; }
    /// <summary>Active checks, ejections and totals; publishes <see cref="BalancedServer.IsAvailable"/>.</summary>
    public ServerHealth Health { get; }
    public byte[] HostBytes { get; }
    /// <summary>Null: plain TCP. Else how to handshake with this server (SNI, trust), shared by its connections.</summary>
    public SslClientAuthenticationOptions? Tls { get; }
    /// <summary>Its failures' log lines, one per interval and kind (connect, response, timeout).</summary>
    public LogThrottle FailureLog { get; } = new();

    /// <summary>
    /// Drains (true: no balancer picks it, its pooled connections close as they become idle) or enables it again. The
    /// caller serialises this with reloads (ProxyHost), so a drain is never lost between two generations.
    /// </summary>
    public void SetDrained(bool drained)
    {
        Health.SetDrained(drained);
        Pool.SetDraining(drained);
    }

    /// <summary>
    /// A connect to this server that failed, logged unless the interval's line was written already (then counted);
    /// the reason is put into words only when it is written.
    /// </summary>
    public void LogConnectFailure(string upstream, Exception ex)
    {
        if (!FailureLog.ShouldLog(RepeatedFailure.Connect, out var repeats)) return;
        Log.UpstreamConnectFailed(upstream, Address, ex switch
        {
            SocketException { SocketErrorCode: SocketError.TimedOut } => "connect_timeout passed",
            UpstreamProtocolException => "HTTP/2 connection failed: " + ex.Message,
            UpstreamTlsException => "TLS handshake failed: " + ex.Message,
            _ => ex.Message,
        }, repeats);
    }
}

/// <summary>An [upstreams.NAME] section at run time: its servers, balancer, timeouts, health and limits.</summary>
internal sealed class Upstream
{
    /// <summary>How long a pooled connection may sit idle before the proxy closes it (nginx's keepalive_timeout default).</summary>
    public static readonly TimeSpan PoolIdleTimeout = TimeSpan.FromSeconds(60);

    /// <param name="previous">The same upstream in the configuration being replaced: its servers' health carries over (by address).</param>
    /// <param name="idleShare">Without max_idle_per_server, the most idle connections a server's pool may keep (see <see cref="IdleShare"/>).</param>
    public Upstream(UpstreamConfig config, Upstream? previous = null, int idleShare = int.MaxValue)
    {
        Config = config;
        Name = config.Name;
        Servers = new UpstreamServer[config.Servers.Count];
        var balanced = new BalancedServer[Servers.Length];
        var trust = UpstreamTls.LoadTrust(config);
        for (int i = 0; i < Servers.Length; i++)
        {
            var server = config.Servers[i];
            // A server that stays (by address) shares its in-flight counts and response times with its previous generation.
            BalancedServer? carried = null;
            if (previous is not null)
            {
                foreach (var old in previous.Servers)
                {
                    if (old.Address == server.Address) { carried = old.State; break; }
                }
            }
            Servers[i] = new UpstreamServer(i, server, config.MaxIdlePerServer ?? idleShare, UpstreamTls.For(config, server, trust), config.Protocol, config.Name, carried);
            balanced[i] = Servers[i].State;
        }
        Balancer = LoadBalancers.Create(BalanceName(config.Balance), balanced, previous: previous?.Balancer);
        Balancing = UpstreamBalancing.For(config, Servers);
        ConnectTimeout = config.ConnectTimeout;
        ResponseTimeoutMs = (long)config.ResponseTimeout.TotalMilliseconds;
        ReadTimeoutMs = (long)(config.ReadTimeout ?? config.ResponseTimeout).TotalMilliseconds;
        RequestTimeoutMs = (long)config.RequestTimeout.TotalMilliseconds;
        RequestBuffering = config.RequestBuffering;
        Outliers = new OutlierDetector(Name, Servers, config.Passive);
        Limits = new UpstreamLimits(Servers, config.Limits, config.Retry);
        if (previous is not null)
        {
            foreach (var server in Servers)
            {
                foreach (var old in previous.Servers)
                {
                    if (old.Address != server.Address) continue;
                    server.Health.CarryOver(old.Health);
                    // A drained server stays drained in the new generation (its pool keeps nothing either).
                    if (server.Health.Drained) server.Pool.SetDraining(true);
                    server.FailureLog.CarryOver(old.FailureLog);
                    break;
                }
            }
            Outliers.Recount();
            FailureLog.CarryOver(previous.FailureLog);
        }
        if (config.Health is not null) Checker = new HealthChecker(Name, Servers, config.Health);
    }

    public UpstreamConfig Config { get; }
    public string Name { get; }
    public UpstreamServer[] Servers { get; }
    public ILoadBalancer Balancer { get; }
    /// <summary>hash_key, p2c's response times, sticky cookies; null when the balancer needs none (a plain pick).</summary>
    public UpstreamBalancing? Balancing { get; }
    public TimeSpan ConnectTimeout { get; }
    public long ResponseTimeoutMs { get; }
    /// <summary>read_timeout: the longest wait between response body reads (default: response_timeout).</summary>
    public long ReadTimeoutMs { get; }
    /// <summary>request_timeout: the whole request, retries included; 0: none.</summary>
    public long RequestTimeoutMs { get; }
    /// <summary>request_buffering: a chunked request body is read whole and sent with a Content-Length.</summary>
    public bool RequestBuffering { get; }
    public OutlierDetector Outliers { get; }
    public UpstreamLimits Limits { get; }
    /// <summary>Active checks; null without [upstreams.X.health].</summary>
    public HealthChecker? Checker { get; }

    /// <summary>This upstream's metrics (response times, retries, circuit breaking); null while metrics are off.</summary>
    public Observability.Metrics.UpstreamSeries? Metrics { get; set; }
    /// <summary>Failures of the upstream as a whole (tcp connections no server took), throttled as its servers' are.</summary>
    public LogThrottle FailureLog { get; } = new();

    /// <summary>Words of the bitset that marks servers already tried for a request.</summary>
    public int ExclusionWords => (Servers.Length + 63) >> 6;

    /// <summary>
    /// The most idle connections one server's pool keeps when max_idle_per_server is not set: half of the process's
    /// file descriptors are for clients (and listeners, health checks, logs), the other half is shared among the
    /// configuration's HTTP/1.1 servers. The pools keep only what the load needs; this bounds a pathological peak.
    /// </summary>
    public static int IdleShare(int servers) => Math.Max(1, Transport.DescriptorLimit.Current / 2 / Math.Max(servers, 1));

    public static string BalanceName(BalanceKind kind) => kind switch
    {
        BalanceKind.RoundRobin => "round_robin",
        BalanceKind.LeastConn => "least_conn",
        BalanceKind.IpHash => "ip_hash",
        BalanceKind.Weighted => "weighted",
        BalanceKind.ConsistentHash => "consistent_hash",
        BalanceKind.PowerOfTwoChoices => "p2c",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// Heartbeat: a line for the failures the throttles left out whose interval is over, when no later failure said
    /// how many there were. Allocation-free unless it writes a line.
    /// </summary>
    public void FlushSuppressedLogs(long nowMs)
    {
        foreach (var server in Servers)
        {
            for (var kind = RepeatedFailure.Connect; kind <= RepeatedFailure.Timeout; kind++)
            {
                if (server.FailureLog.TryFlush(kind, nowMs, out var repeats)) Log.FailuresSuppressed(Name, server.Address, kind, repeats);
            }
        }
        if (FailureLog.TryFlush(RepeatedFailure.NoServer, nowMs, out var noServer)) Log.FailuresSuppressed(Name, null, RepeatedFailure.NoServer, noServer);
    }

    /// <summary>The heartbeat's sweep of the pools: see <see cref="UpstreamConnectionPool.Sweep"/>.</summary>
    public void SweepPools(long nowMs, long idleCutoffMs)
    {
        foreach (var server in Servers) server.Pool.Sweep(nowMs, idleCutoffMs);
    }

    /// <summary>
    /// This configuration generation is replaced: its checks stop, its idle connections close, and connections still
    /// in use by in-flight requests are closed when those requests end instead of going back to a pool nobody sweeps.
    /// </summary>
    public void Retire()
    {
        Checker?.Stop();
        foreach (var server in Servers) server.Pool.Retire();
    }
}
