using FastProxy.Configuration;
using FastProxy.Outbound;
using FastProxy.Outbound.Redis;
using FastProxy.Diagnostics;
using FastProxy.Policies.Pipeline;
using FastProxy.Routing;
using FastProxy.Tcp;
using FastProxy.Tls;
using FastProxy.Transport;
using FastProxy.Upstreams;

namespace FastProxy.Hosting;

/// <summary>
/// One configuration generation compiled for serving: upstreams with their balancers and pools, each http
/// listener's router, and each tcp listener's upstream and SNI routes. Immutable: a reload builds a new one and in-flight requests finish on the old.
/// </summary>
internal sealed class ProxyRuntime
{
    private readonly Upstream[] _upstreamList;
    private readonly ProxyHeaderReader[] _proxyProtocolList;
    // The shared Redis connection this generation's rate_limit policies use (store = "redis"); released on retirement.
    private RedisConnection? _redis;

    private ProxyRuntime(ProxyConfig config, Dictionary<string, Upstream> upstreams, Dictionary<string, ListenerRuntime> listeners,
        Dictionary<string, TcpListenerRuntime> tcpListeners, Dictionary<string, ProxyHeaderReader> proxyProtocol)
    {
        Config = config;
        ProxyProtocol = proxyProtocol;
        _proxyProtocolList = [.. proxyProtocol.Values];
        Upstreams = upstreams;
        Listeners = listeners;
        TcpListeners = tcpListeners;
        _upstreamList = [.. upstreams.Values];
    }

    public ProxyConfig Config { get; }
    /// <summary>[tracing] with an otlp_endpoint (sampling, exporter); null: propagation only.</summary>
    public Observability.Tracing.Tracer? Tracer { get; private init; }
    /// <summary>When this generation was built (start or reload), for /config.</summary>
    public DateTimeOffset LoadedAt { get; } = DateTimeOffset.UtcNow;
    public IReadOnlyDictionary<string, Upstream> Upstreams { get; }
    /// <summary>The http listeners.</summary>
    public IReadOnlyDictionary<string, ListenerRuntime> Listeners { get; }
    /// <summary>The tcp listeners (L4, optionally routed by TLS server name).</summary>
    public IReadOnlyDictionary<string, TcpListenerRuntime> TcpListeners { get; }
    /// <summary>The PROXY protocol side of the listeners (http or tcp) with proxy_protocol = true, by listener name.</summary>
    public IReadOnlyDictionary<string, ProxyHeaderReader> ProxyProtocol { get; }

    /// <summary>What this build of the proxy cannot serve yet, as config errors: better refused at start than half-served.</summary>
    public static IReadOnlyList<string> Unsupported(ProxyConfig config)
    {
        var problems = new List<string>();
        foreach (var listener in config.Listeners)
        {
            // TLS to the servers of a tcp listener's upstream (TLS origination at L4) is not built: bytes would go out plain.
            if (listener.Protocol != ListenerProtocol.Tcp) continue;
            foreach (var name in TcpUpstreamNames(config, listener))
            {
                if (config.Upstreams.FirstOrDefault(u => u.Name == name) is not { } upstream) continue;
                // A tcp listener relays bytes: it cannot speak HTTP/2 (or any HTTP) to the servers.
                if (upstream.Protocol != UpstreamProtocol.Http1)
                    problems.Add($"{upstream.Location}: upstreams.{upstream.Name}.protocol: \"{(upstream.Protocol == UpstreamProtocol.H2 ? "h2" : "h2c")}\" makes no sense for the upstream of a tcp listener (\"{listener.Name}\"), which relays bytes; leave protocol out (or \"http1\")");
                else if (upstream.Tls)
                    problems.Add($"{upstream.Location}: upstreams.{upstream.Name}.tls: TLS to the servers of a tcp listener (\"{listener.Name}\") is not implemented yet; only http listeners' upstreams can use tls = true");
            }
        }
        return problems;
    }

    private static IEnumerable<string> TcpUpstreamNames(ProxyConfig config, ListenerConfig listener)
    {
        if (listener.Upstream is not null) yield return listener.Upstream;
        foreach (var route in config.Routes)
        {
            if (route.Listeners?.Contains(listener.Name) == true && route.Upstream is not null) yield return route.Upstream;
        }
    }

    /// <summary>Sections that are valid and accepted but not enforced by this build, for the startup log.</summary>
    public static IReadOnlyList<string> NotEnforced(ProxyConfig config)
    {
        var notes = new List<string>();
        foreach (var upstream in config.Upstreams)
        {
            // A tcp upstream has no requests to count: retries and max_requests apply to http routes only.
            if (upstream.Health is { Type: HealthCheckType.Http } && UsedByTcp(config, upstream.Name) && !UsedByHttp(config, upstream.Name))
                notes.Add($"{upstream.Location}: upstreams.{upstream.Name}.health: an HTTP check on a tcp upstream; `type = \"tcp\"` checks connects only");
        }
        return notes;
    }

    private static bool UsedByTcp(ProxyConfig config, string upstream)
    {
        foreach (var listener in config.Listeners)
            if (listener.Protocol == ListenerProtocol.Tcp && listener.Upstream == upstream) return true;
        foreach (var route in config.Routes)
            if (route.Match.Sni is not null && route.Upstream == upstream) return true;
        return false;
    }

    private static bool UsedByHttp(ProxyConfig config, string upstream)
    {
        foreach (var route in config.Routes)
            if (route.Match.Sni is null && route.Upstream == upstream) return true;
        return false;
    }

    /// <summary>
    /// Compiles a configuration. Certificates and keys are loaded here (the config loader checked them; a file that
    /// changed since is a <see cref="ProxyStartException"/> naming it: the start fails, or a reload is refused).
    /// </summary>
    /// <param name="previous">The generation being replaced, if any: server health carries over by upstream name and address.</param>
    public static ProxyRuntime Build(ProxyConfig config, ProxyRuntime? previous = null)
    {
        try
        {
            return BuildCore(config, previous);
        }
        catch (TlsLoadException ex)
        {
            throw new ProxyStartException([ex.Message]);
        }
        catch (PolicyBuildException ex)
        {
            throw new ProxyStartException([ex.Message]);
        }
    }

    private static ProxyRuntime BuildCore(ProxyConfig config, ProxyRuntime? previous)
    {
        // Connected only when a policy uses it; a reload naming the same server keeps the same connection.
        var redis = config.Redis is not null && UsesRedis(config) ? RedisConnection.Acquire(config.Redis) : null;
        try
        {
            var runtime = BuildCore(config, previous, redis is null ? null : new RedisRateLimitStores(redis));
            runtime._redis = redis;
            return runtime;
        }
        catch
        {
            redis?.Release();
            throw;
        }
    }

    private static bool UsesRedis(ProxyConfig config)
    {
        foreach (var policy in config.Policies)
        {
            if (policy.Options is RateLimitOptions { Store: RateLimitStoreKind.Redis }) return true;
        }
        return false;
    }

    private static ProxyRuntime BuildCore(ProxyConfig config, ProxyRuntime? previous, RedisRateLimitStores? redisStores)
    {
        var upstreams = new Dictionary<string, Upstream>(StringComparer.Ordinal);
        int pooledServers = 0;
        foreach (var u in config.Upstreams)
        {
            if (u.Protocol == UpstreamProtocol.Http1) pooledServers += u.Servers.Count;
        }
        int idleShare = Upstream.IdleShare(pooledServers);
        foreach (var u in config.Upstreams)
        {
            Upstream? old = null;
            previous?.Upstreams.TryGetValue(u.Name, out old);
            upstreams[u.Name] = new Upstream(u, old, idleShare);
        }

        var proxyProtocol = new Dictionary<string, ProxyHeaderReader>(StringComparer.Ordinal);
        foreach (var listener in config.Listeners)
        {
            if (!listener.ProxyProtocol) continue;
            ProxyHeaderReader? old = null;
            previous?.ProxyProtocol.TryGetValue(listener.Name, out old);
            proxyProtocol[listener.Name] = new ProxyHeaderReader(listener.Name, config.ClientIp,
                (long)listener.Limits.HeaderTimeout.TotalMilliseconds, old?.FailureLog);
        }

        // Every [policies.NAME] built once; each (listener, route) pair gets its compiled chain.
        // The previous gateway lets a policy keep its state across the reload (rate_limit's counts).
        var gateway = new PolicySet(config, OutboundHttp.Shared, logger: Log.Logger,
            previous: previous?.Listeners.Values.Select(l => l.Gateway).FirstOrDefault(g => g is not null),
            remoteRateLimitStores: redisStores, upstreams: new Outbound.UpstreamCalls.UpstreamCalls(upstreams));
        var listeners = new Dictionary<string, ListenerRuntime>(StringComparer.Ordinal);
        foreach (var listener in config.Listeners)
        {
            if (listener.Protocol != ListenerProtocol.Http) continue;
            var routes = new List<Route>();
            foreach (var route in config.Routes)
            {
                if (route.Listeners is not null && !route.Listeners.Contains(listener.Name)) continue;
                var chain = gateway.ChainFor(listener.Policies, route.Policies);
                var compiled = new Route(route, route.Upstream is null ? null : upstreams[route.Upstream], chain);
                // A policy that picks the upstream (version) gets this route once per upstream, made here, not per request.
                if (chain is { SelectsUpstream: true }) compiled.AddAlternates([.. config.Upstreams.Select(u => upstreams[u.Name])]);
                routes.Add(compiled);
            }
            var tls = listener.Tls.Count > 0 ? TlsServer.Load(listener, TlsAlpn.Http) : null;
            listeners[listener.Name] = new ListenerRuntime(listener, new Router([.. routes]), tls, gateway, proxyProtocol.GetValueOrDefault(listener.Name));
        }
        var tcp = TcpListenerRuntime.Build(config, upstreams, proxyProtocol);
        // Last: nothing after it can fail and leave an exporter running for a generation that never serves.
        var tracer = Observability.Tracing.Tracer.For(config.Tracing, previous?.Tracer);
        foreach (var listener in listeners.Values) listener.Tracer = tracer;
        return new ProxyRuntime(config, upstreams, listeners, tcp, proxyProtocol) { Tracer = tracer };
    }

    /// <summary>Starts the active health checks of this generation (when it starts serving).</summary>
    public void StartHealthChecks()
    {
        foreach (var upstream in _upstreamList) upstream.Checker?.Start();
    }

    /// <summary>Replaced by a reload, or stopped: checks stop, and upstream connections close as their requests end.</summary>
    public void Retire()
    {
        foreach (var upstream in _upstreamList) upstream.Retire();
        Tracer?.Retire();
        Interlocked.Exchange(ref _redis, null)?.Release();
    }

    /// <summary>Heartbeat: ejections that are over end; failures the log left out are counted in a line. Allocation-free.</summary>
    public void Tick(long nowMs)
    {
        foreach (var upstream in _upstreamList)
        {
            upstream.Outliers.Tick(nowMs);
            upstream.FlushSuppressedLogs(nowMs);
        }
        foreach (var reader in _proxyProtocolList) reader.FlushSuppressedLogs(nowMs);
    }

    /// <summary>Every upstream of this generation, in no particular order (admin output).</summary>
    public Upstream[] UpstreamList => _upstreamList;

    /// <summary>
    /// The pools' sweep: the number of idle connections kept follows the load, and those idle since before the cutoff
    /// close (see <see cref="UpstreamConnectionPool.Sweep"/>).
    /// </summary>
    public void SweepUpstreamPools(long nowMs, long idleCutoffMs)
    {
        // An array, not the dictionary's interface: this runs every second and must not allocate an enumerator.
        foreach (var upstream in _upstreamList) upstream.SweepPools(nowMs, idleCutoffMs);
    }
}
