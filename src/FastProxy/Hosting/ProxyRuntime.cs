using FastProxy.Configuration;
using FastProxy.Routing;
using FastProxy.Tcp;
using FastProxy.Tls;
using FastProxy.Upstreams;

namespace FastProxy.Hosting;

/// <summary>
/// One configuration generation compiled for serving: upstreams with their balancers and pools, each http
/// listener's router, and each tcp listener's upstream and SNI routes. Immutable: a reload builds a new one and in-flight requests finish on the old.
/// </summary>
internal sealed class ProxyRuntime
{
    private readonly Upstream[] _upstreamList;

    private ProxyRuntime(ProxyConfig config, Dictionary<string, Upstream> upstreams, Dictionary<string, ListenerRuntime> listeners,
        Dictionary<string, TcpListenerRuntime> tcpListeners)
    {
        Config = config;
        Upstreams = upstreams;
        Listeners = listeners;
        TcpListeners = tcpListeners;
        _upstreamList = [.. upstreams.Values];
    }

    public ProxyConfig Config { get; }
    public IReadOnlyDictionary<string, Upstream> Upstreams { get; }
    /// <summary>The http listeners.</summary>
    public IReadOnlyDictionary<string, ListenerRuntime> Listeners { get; }
    /// <summary>The tcp listeners (L4, optionally routed by TLS server name).</summary>
    public IReadOnlyDictionary<string, TcpListenerRuntime> TcpListeners { get; }

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
                if (config.Upstreams.FirstOrDefault(u => u.Name == name) is { Tls: true } upstream)
                    problems.Add($"{upstream.Location}: upstreams.{upstream.Name}.tls: TLS to the servers of a tcp listener (\"{listener.Name}\") is not implemented yet; only http listeners' upstreams can use tls = true");
            }
        }
        foreach (var upstream in config.Upstreams)
        {
            if (upstream.Protocol != UpstreamProtocol.Http1)
                problems.Add($"{upstream.Location}: upstreams.{upstream.Name}.protocol: only \"http1\" is implemented yet");
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
        if (config.Admin is not null) notes.Add($"{config.SourcePath}: admin: the admin listener is not implemented yet; [admin] is ignored");
        foreach (var upstream in config.Upstreams)
        {
            if (upstream.Health is not null) notes.Add($"{upstream.Location}: upstreams.{upstream.Name}.health: active health checks are not implemented yet; ignored");
            if (upstream.Passive is not null) notes.Add($"{upstream.Location}: upstreams.{upstream.Name}.passive: outlier detection is not implemented yet; ignored");
            if (upstream.Retry is not null) notes.Add($"{upstream.Location}: upstreams.{upstream.Name}.retry: retry budgets are not implemented yet; ignored");
            if (upstream.Limits is not null) notes.Add($"{upstream.Location}: upstreams.{upstream.Name}.limits: circuit breaking is not implemented yet; ignored");
        }
        return notes;
    }

    /// <summary>
    /// Compiles a configuration. Certificates and keys are loaded here (the config loader checked them; a file that
    /// changed since is a <see cref="ProxyStartException"/> naming it: the start fails, or a reload is refused).
    /// </summary>
    public static ProxyRuntime Build(ProxyConfig config)
    {
        try
        {
            return BuildCore(config);
        }
        catch (TlsLoadException ex)
        {
            throw new ProxyStartException([ex.Message]);
        }
    }

    private static ProxyRuntime BuildCore(ProxyConfig config)
    {
        var upstreams = new Dictionary<string, Upstream>(StringComparer.Ordinal);
        foreach (var u in config.Upstreams) upstreams[u.Name] = new Upstream(u);

        var listeners = new Dictionary<string, ListenerRuntime>(StringComparer.Ordinal);
        foreach (var listener in config.Listeners)
        {
            if (listener.Protocol != ListenerProtocol.Http) continue;
            var routes = new List<Route>();
            foreach (var route in config.Routes)
            {
                if (route.Listeners is not null && !route.Listeners.Contains(listener.Name)) continue;
                routes.Add(new Route(route, route.Upstream is null ? null : upstreams[route.Upstream]));
            }
            var tls = listener.Tls.Count > 0 ? TlsServer.Load(listener, TlsAlpn.Http) : null;
            listeners[listener.Name] = new ListenerRuntime(listener, new Router([.. routes]), tls);
        }
        return new ProxyRuntime(config, upstreams, listeners, TcpListenerRuntime.Build(config, upstreams));
    }

    /// <summary>Closes pooled upstream connections idle since before the cutoff (all of them for long.MaxValue).</summary>
    public void CloseIdleUpstreamConnections(long cutoffMs)
    {
        // An array, not the dictionary's interface: this runs every second and must not allocate an enumerator.
        foreach (var upstream in _upstreamList) upstream.CloseIdleConnections(cutoffMs);
    }
}
