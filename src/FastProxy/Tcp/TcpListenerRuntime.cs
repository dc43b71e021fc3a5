using FastProxy.Configuration;
using FastProxy.Tls;
using FastProxy.Transport;
using FastProxy.Upstreams;

namespace FastProxy.Tcp;

/// <summary>
/// One tcp listener's view of a configuration generation: where its connections go and its timeouts. Immutable;
/// a reload makes a new one, and connections already open keep the one they were accepted with.
/// </summary>
internal sealed class TcpListenerRuntime
{
    private TcpListenerRuntime(ListenerConfig config, TcpUpstream? defaultUpstream, SniRouter? router, TlsServer? tls, ProxyHeaderReader? proxyProtocol)
    {
        ProxyProtocol = proxyProtocol;
        Tls = tls;
        Name = config.Name;
        Config = config;
        DefaultUpstream = defaultUpstream;
        Router = router;
        HeaderTimeoutMs = (long)config.Limits.HeaderTimeout.TotalMilliseconds;
        IdleTimeoutMs = (long)config.Limits.IdleTimeout.TotalMilliseconds;
    }

    public string Name { get; }
    public ListenerConfig Config { get; }

    /// <summary>
    /// The listener's own <c>upstream</c>: every connection when there are no SNI routes, otherwise the connections
    /// whose ClientHello matches no route or carries no name. Null: such connections are closed.
    /// </summary>
    public TcpUpstream? DefaultUpstream { get; }

    /// <summary>Null when no route lists this listener: bytes are forwarded from the first, nothing is read first.</summary>
    public SniRouter? Router { get; }

    /// <summary>Null: bytes are relayed as they come (or read for SNI, without terminating). Else TLS is terminated here.</summary>
    public TlsServer? Tls { get; }

    /// <summary>Null unless proxy_protocol = true: then every connection starts with a PROXY protocol header, read first.</summary>
    public ProxyHeaderReader? ProxyProtocol { get; }

    /// <summary>This listener's metrics (connections, TLS); null while metrics are off. Set at bind, before serving.</summary>
    public Observability.Metrics.ListenerSeries? Metrics { get; set; }

    /// <summary>The whole ClientHello must arrive within this (SNI-routed listeners only), and a PROXY protocol header.</summary>
    public long HeaderTimeoutMs { get; }

    /// <summary>No byte either way for this long closes both sides.</summary>
    public long IdleTimeoutMs { get; }

    /// <summary>The tcp listeners of <paramref name="config"/>, by name. Tcp upstreams are shared between listeners.</summary>
    /// <param name="proxyProtocol">The PROXY protocol readers of the listeners that have one, by name.</param>
    public static Dictionary<string, TcpListenerRuntime> Build(ProxyConfig config, IReadOnlyDictionary<string, Upstream> upstreams,
        IReadOnlyDictionary<string, ProxyHeaderReader> proxyProtocol)
    {
        var tcpUpstreams = new Dictionary<string, TcpUpstream>(StringComparer.Ordinal);
        TcpUpstream For(string name)
        {
            if (!tcpUpstreams.TryGetValue(name, out var upstream)) tcpUpstreams[name] = upstream = new TcpUpstream(upstreams[name]);
            return upstream;
        }

        var listeners = new Dictionary<string, TcpListenerRuntime>(StringComparer.Ordinal);
        foreach (var listener in config.Listeners)
        {
            if (listener.Protocol != ListenerProtocol.Tcp) continue;
            var routes = new List<SniRoute>();
            // Only routes that name the listener: a route without `listeners` belongs to the http listeners.
            foreach (var route in config.Routes)
            {
                if (route.Listeners is null || !route.Listeners.Contains(listener.Name)) continue;
                if (route.Upstream is null || route.Match.Sni is null) continue; // the config loader refuses these
                routes.Add(new SniRoute(route.Name, route.Match.Sni, For(route.Upstream)));
            }
            var defaultUpstream = listener.Upstream is null ? null : For(listener.Upstream);
            listeners[listener.Name] = new TcpListenerRuntime(listener, defaultUpstream, routes.Count == 0 ? null : new SniRouter([.. routes]),
                listener.Tls.Count > 0 ? TlsServer.Load(listener, alpn: null) : null, proxyProtocol.GetValueOrDefault(listener.Name));
        }
        return listeners;
    }
}
