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
        Declared = config.Declared ?? config.Address;
        Display = config.Declared is { } declared && declared != config.Address ? $"{declared} ({config.EndPoint.Address})" : config.Address;
        State = new BalancedServer(index, config.Address, config.Weight, carriedFrom);
        if (protocol != UpstreamProtocol.Http1) Http2 = new Http2UpstreamPool(this, upstreamName);
        Pool = new UpstreamConnectionPool(State, maxIdle, Http2);
        Health = new ServerHealth(State);
        // Host for requests that arrive without one (HTTP/1.0): the server's own address, as nginx's $proxy_host.
        HostBytes = Encoding.ASCII.GetBytes(Declared);
    }

    public IPEndPoint EndPoint { get; }
    /// <summary>
    /// Its identity in admin output, metrics and logs: as written for an IP literal; the address and port it resolved to
    /// ("10.0.0.7:9000") for a server that comes from a host name (one per address).
    /// </summary>
    public string Address { get; }
    /// <summary>The server entry as written ("app.internal:9000"); the same as <see cref="Address"/> for an IP literal.</summary>
    public string Declared { get; }
    /// <summary>
    /// How logs, /upstreams and the dashboard name it for a reader: "app.internal:8080 (10.0.0.5)", the entry as written and
    /// the address it resolved to, for a server that comes from a host name; its address otherwise. Metrics keep
    /// <see cref="Address"/> as the label (one series per address) and give the entry in fastproxy_upstream_server_info.
    /// </summary>
    public string Display { get; }
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
        // A server discovery removed stays draining whatever the operator says (it is gone from the set anyway).
        Pool.SetDraining(drained || Removed);
    }

    /// <summary>Discovery removed it: no set lists it any more, its checks stop, its pool drains.</summary>
    public bool Removed => _removed;

    private volatile bool _removed;

    /// <summary>
    /// Gone from the upstream's servers (DNS no longer lists its address, or the servers_file dropped it): its idle
    /// connections close now, busy ones when their request ends (a request in flight finishes on it), HTTP/2
    /// connections once their last stream ends; its active checks stop at their next round.
    /// </summary>
    public void Remove()
    {
        _removed = true;
        Pool.SetDraining(true);
    }

    /// <summary>
    /// A connect to this server that failed, logged unless the interval's line was written already (then counted);
    /// the reason is put into words only when it is written.
    /// </summary>
    public void LogConnectFailure(string upstream, Exception ex)
    {
        if (!FailureLog.ShouldLog(RepeatedFailure.Connect, out var repeats)) return;
        Log.UpstreamConnectFailed(upstream, Display, ex switch
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
        _maxIdle = config.MaxIdlePerServer ?? idleShare;
        _trust = UpstreamTls.LoadTrust(config);
        Declared = config.Servers;
        Discovery = new Discovery.DiscoveryState(config);
        var expanded = ServerSet.Expand(config.Servers, static s => s.Resolved);
        var servers = new UpstreamServer[expanded.Count];
        for (int i = 0; i < servers.Length; i++)
        {
            // A server that stays (by address) shares its in-flight counts and response times with its previous generation.
            BalancedServer? carried = null;
            if (previous is not null)
            {
                foreach (var old in previous.Servers)
                {
                    if (old.Address == expanded[i].Address) { carried = old.State; break; }
                }
            }
            servers[i] = NewServer(i, expanded[i], carried);
        }
        ConnectTimeout = config.ConnectTimeout;
        ResponseTimeoutMs = (long)config.ResponseTimeout.TotalMilliseconds;
        ReadTimeoutMs = (long)(config.ReadTimeout ?? config.ResponseTimeout).TotalMilliseconds;
        RequestTimeoutMs = (long)config.RequestTimeout.TotalMilliseconds;
        RequestBuffering = config.RequestBuffering;
        Outliers = new OutlierDetector(Name, servers, config.Passive);
        Limits = new UpstreamLimits(servers, config.Limits, config.Retry);
        if (previous is not null)
        {
            foreach (var server in servers)
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
        _set = ServerSet.Create(this, servers, expanded, previous?._set);
        if (config.Health is not null) Checker = new HealthChecker(Name, servers, config.Health);
    }

    private readonly int _maxIdle;
    private readonly System.Security.Cryptography.X509Certificates.X509Certificate2Collection? _trust;
    /// <summary>The servers in use: read once per request (a volatile read) and used for the whole of it.</summary>
    private volatile ServerSet _set;

    private UpstreamServer NewServer(int index, ServerConfig server, BalancedServer? carried = null)
        => new(index, server, _maxIdle, UpstreamTls.For(Config, server, _trust), Config.Protocol, Config.Name, carried);

    /// <summary>
    /// The current servers, their balancers and their exclusion size, as one immutable snapshot: a request reads it
    /// once (<see cref="Set"/>) and picks, indexes and retries within it, so a change of servers in the middle of a
    /// request (DNS, servers_file) never mixes the positions of two sets.
    /// </summary>
    public ServerSet Set => _set;

    /// <summary>What DNS and file discovery know of this upstream (last good addresses, when next due).</summary>
    public Discovery.DiscoveryState Discovery { get; }

    /// <summary>The servers as declared (inline, or the servers_file as last read), before host names are expanded.</summary>
    public IReadOnlyList<ServerConfig> Declared { get; private set; }

    public UpstreamConfig Config { get; }
    public string Name { get; }
    /// <summary>The current servers (admin, metrics, heartbeat). A request uses one <see cref="Set"/> throughout instead.</summary>
    public UpstreamServer[] Servers => _set.Servers;
    public ILoadBalancer Balancer => _set.Balancer;
    /// <summary>hash_key, p2c's response times, sticky cookies of the current set; null when the balancer needs none. A request uses its set's.</summary>
    public UpstreamBalancing? Balancing => _set.Balancing;
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

    /// <summary>Words of the bitset that marks servers already tried for a request (of the current set).</summary>
    public int ExclusionWords => _set.ExclusionWords;

    /// <summary>
    /// Discovery found a new list of servers (host names resolved again, or the servers_file changed): servers that
    /// stay keep their object (pool, health, counters, drain) and take their new position; new ones start up; removed
    /// ones drain (no new request picks them, their idle connections close now and busy ones as their requests end,
    /// their checks stop). Requests in flight finish on the set they started with. False when nothing changed.
    /// The caller serialises this with reloads and drains (the host's reload lock).
    /// </summary>
    /// <param name="declared">The declared servers the list was expanded from (the servers_file's, when it changed).</param>
    /// <param name="expanded">One entry per address (<see cref="ServerSet.Expand"/>).</param>
    public bool ApplyServers(IReadOnlyList<ServerConfig> declared, IReadOnlyList<ServerConfig> expanded, out int added, out int removed)
    {
        var current = _set;
        Declared = declared;
        added = removed = 0;
        if (current.SameAs(expanded)) return false;
        var byAddress = new Dictionary<string, UpstreamServer>(StringComparer.Ordinal);
        foreach (var server in current.Servers) byAddress[server.Address] = server;
        var servers = new UpstreamServer[expanded.Count];
        var fresh = new List<UpstreamServer>();
        var replaced = new List<UpstreamServer>();
        for (int i = 0; i < servers.Length; i++)
        {
            var config = expanded[i];
            if (byAddress.Remove(config.Address, out var kept) && kept.State.Weight == config.Weight)
            {
                // The same object: a balancer returns positions in its own array, never reads Index, so the old set's
                // balancer (still used by requests in flight) is not disturbed by this.
                kept.State.Index = i;
                servers[i] = kept;
                continue;
            }
            // The weight changed: a new server, sharing the old one's counters (requests in flight end in the same count).
            var server = NewServer(i, config, kept?.State);
            if (kept is not null)
            {
                // The weight changed: a new server for the same address, with its health and drain carried over.
                server.Health.CarryOver(kept.Health);
                if (server.Health.Drained) server.Pool.SetDraining(true);
                server.FailureLog.CarryOver(kept.FailureLog);
                replaced.Add(kept);
            }
            else
            {
                added++;
            }
            servers[i] = server;
            fresh.Add(server);
        }
        Outliers.SetServers(servers);
        Limits.SetServers(servers);
        _set = ServerSet.Create(this, servers, expanded, current);
        foreach (var server in fresh) Checker?.Add(server);
        removed = byAddress.Count;
        foreach (var gone in byAddress.Values) gone.Remove();
        foreach (var old in replaced) old.Remove();
        return true;
    }

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
                if (server.FailureLog.TryFlush(kind, nowMs, out var repeats)) Log.FailuresSuppressed(Name, server.Display, kind, repeats);
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
