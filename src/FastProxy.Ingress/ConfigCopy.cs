using FastProxy.Configuration;

namespace FastProxy.Ingress;

/// <summary>
/// Copies of the controller's configuration with what the Ingresses add. Every member is copied by name:
/// ConfigCopyTests fails when ProxyConfig or ListenerConfig gains a member this does not copy.
/// </summary>
internal static class ConfigCopy
{
    public static ProxyConfig With(ProxyConfig c, IReadOnlyList<ListenerConfig> listeners, IReadOnlyList<RouteConfig> routes,
        IReadOnlyList<UpstreamConfig> upstreams, IReadOnlyList<PolicyConfig> policies) => new()
    {
        SourcePath = c.SourcePath,
        BaseDirectory = c.BaseDirectory,
        Global = c.Global,
        Admin = c.Admin,
        Limits = c.Limits,
        Listeners = listeners,
        Routes = routes,
        Upstreams = upstreams,
        Policies = policies,
        ClientIp = c.ClientIp,
        Consumers = c.Consumers,
        Metrics = c.Metrics,
        AccessLog = c.AccessLog,
        Tracing = c.Tracing,
        Document = c.Document,
        Redis = c.Redis,
        Warnings = c.Warnings,
    };

    public static ListenerConfig WithTls(ListenerConfig l, IReadOnlyList<TlsCertificateConfig> tls) => new()
    {
        Name = l.Name,
        Bind = l.Bind,
        EndPoint = l.EndPoint,
        Protocol = l.Protocol,
        Upstream = l.Upstream,
        Tls = tls,
        ReusePort = l.ReusePort,
        Policies = l.Policies,
        ProxyProtocol = l.ProxyProtocol,
        Limits = l.Limits,
        Location = l.Location,
    };
}
