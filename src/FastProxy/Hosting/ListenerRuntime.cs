using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Routing;
using FastProxy.Tls;
using FastProxy.Transport;

namespace FastProxy.Hosting;

/// <summary>One listener's view of a configuration generation: its routes and limits. Immutable; a reload makes a new one.</summary>
internal sealed class ListenerRuntime
{
    public ListenerRuntime(ListenerConfig config, Router router, TlsServer? tls, PolicySet? gateway = null, ProxyHeaderReader? proxyProtocol = null)
    {
        ProxyProtocol = proxyProtocol;
        Gateway = gateway;
        ClientIp = gateway is { ClientIp.PeerOnly: false } ? gateway.ClientIp : null;
        ListenerPolicies = gateway?.ChainFor(config.Policies, []);
        Config = config;
        Router = router;
        Name = config.Name;
        var limits = config.Limits;
        HeadLimits = new HeadLimits(limits.MaxRequestLine, limits.MaxHeaderBytes, limits.MaxHeaders);
        HeaderTimeoutMs = (long)limits.HeaderTimeout.TotalMilliseconds;
        IdleTimeoutMs = (long)limits.IdleTimeout.TotalMilliseconds;
        MaxBody = limits.MaxBody;
        Tls = tls;
        Scheme = tls is not null ? "https"u8.ToArray() : "http"u8.ToArray();
        if (config.Hsts is { } hsts && tls is not null)
        {
            HstsLine = System.Text.Encoding.ASCII.GetBytes(Forwarding.HstsField.Name + ": " + hsts.Value + "\r\n");
        }
    }

    public string Name { get; }
    public ListenerConfig Config { get; }
    public Router Router { get; }
    public HeadLimits HeadLimits { get; }
    public long HeaderTimeoutMs { get; }
    public long IdleTimeoutMs { get; }
    /// <summary>0: unlimited.</summary>
    public long MaxBody { get; }
    /// <summary>"http" or "https" (TLS terminated here), for X-Forwarded-Proto.</summary>
    public byte[] Scheme { get; }
    /// <summary>
    /// [listeners.hsts]: "Strict-Transport-Security: VALUE\r\n", put on every final response of this listener (the
    /// proxy's own and forwarded ones, replacing an upstream's). Null: none (plain listeners always).
    /// </summary>
    public byte[]? HstsLine { get; }
    /// <summary>Null: plain HTTP. Else the certificates and TLS settings of [[listeners.tls]].</summary>
    public TlsServer? Tls { get; }
    /// <summary>Null unless proxy_protocol = true: then every connection starts with a PROXY protocol header, read first.</summary>
    public ProxyHeaderReader? ProxyProtocol { get; }

    /// <summary>The gateway of this configuration generation (policies, consumers); null only in tests that build a runtime by hand.</summary>
    public PolicySet? Gateway { get; }

    /// <summary>Set when [client_ip] trusts some proxies: requests from them name their client. Null: the peer is the client.</summary>
    public ClientIpResolver? ClientIp { get; }

    /// <summary>The listener's own policies, for requests no route matched (routes carry the listener's policies in their chains).</summary>
    public PolicyChain? ListenerPolicies { get; }

    /// <summary>This listener's metrics (bytes, connections, TLS); null while metrics are off (no [admin]). Set at bind, before serving.</summary>
    public Observability.Metrics.ListenerSeries? Metrics { get; set; }

    /// <summary>The request counts of requests no route matched (route=""); null while metrics are off.</summary>
    public Observability.Metrics.RequestSeries? UnroutedMetrics { get; set; }
    /// <summary>[tracing] with an otlp_endpoint: sampling and export. Null: trace context is propagated, nothing recorded.</summary>
    public Observability.Tracing.Tracer? Tracer { get; set; }

    /// <summary>The most bytes a request head can have before a limit refuses it: what is worth copying when it straddles segments.</summary>
    public int MaxHeadBytes => HeadLimits.MaxStartLine + HeadLimits.MaxHeaderBytes + 64;
}
