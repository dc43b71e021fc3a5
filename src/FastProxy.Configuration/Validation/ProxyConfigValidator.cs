using FastProxy.Configuration.Reading;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// The whole file: reads every section (each checking itself), then checks what sections say about
/// each other. Sections may come in any order in the file, so references are checked last.
/// </summary>
internal static class ProxyConfigValidator
{
    public static readonly string[] Keys = ["global", "admin", "limits", "listeners", "routes", "upstreams", "policies", "client_ip", "consumers", "metrics", "access_log", "tracing", "redis", "dns"];

    /// <summary>Section keys written at the top of the file, before any [section]: say where they go.</summary>
    private static readonly IReadOnlyDictionary<string, string> Misplaced = MisplacedKeys.Homes(
        (GlobalValidator.Keys, "[global]"),
        (LimitsValidator.Keys, "[limits]"));

    public static ProxyConfig Validate(LoadContext context, TomlTable document, string sourcePath)
    {
        var root = new TableReader(context, document, "", Keys, Misplaced);
        var global = GlobalValidator.Read(root.Table("global", GlobalValidator.Keys));
        var admin = AdminValidator.Read(root.Table("admin", AdminValidator.Keys));
        var limits = LimitsValidator.Read(root.Table("limits", LimitsValidator.Keys), new LimitsConfig());
        var listeners = ListenerSetValidator.Read(root, limits, admin);
        // Before the upstreams: their host names are resolved through [dns]'s servers when it names some.
        var dns = DnsValidator.Read(root.Table("dns", DnsValidator.Keys));
        if (dns is not null) context.UseNameServers(dns);
        var upstreams = UpstreamSetValidator.Read(root.Table("upstreams", keys: null));
        var policies = PolicySetValidator.Read(root.Table("policies", keys: null));
        var routes = RouteSetValidator.Read(root);
        var clientIp = ClientIpValidator.Read(root.Table("client_ip", ClientIpValidator.Keys));
        var consumers = ConsumerSetValidator.Read(root.Table("consumers", keys: null));
        var metrics = MetricsValidator.Read(root.Table("metrics", MetricsValidator.Keys), admin, consumers);
        var accessLog = AccessLogValidator.Read(root.Table("access_log", AccessLogValidator.Keys));
        var tracing = TracingValidator.Read(root.Table("tracing", TracingValidator.Keys));
        var redis = RedisValidator.Read(root.Table("redis", RedisValidator.Keys));

        RouteReferenceValidator.Check(context, routes, listeners, upstreams, policies);
        PolicyUpstreamValidator.Check(context, routes, listeners, upstreams, policies);
        GatewayReferenceValidator.Check(context, listeners, policies, consumers, clientIp);
        RedisValidator.CheckReferences(context, policies, redis);
        Policies.AggregatePolicyType.CheckReferences(context, policies, upstreams);
        PolicyOrderValidator.Check(context, listeners, routes, policies);
        TcpListenerValidator.Check(context, listeners, routes, upstreams);
        RequestBufferingValidator.Check(context, routes, listeners, upstreams);
        UsageValidator.Check(context, listeners, routes, upstreams, policies);

        return new ProxyConfig
        {
            SourcePath = sourcePath,
            BaseDirectory = context.BaseDirectory,
            Global = global,
            Admin = admin,
            Limits = limits,
            Listeners = listeners.Select(l => l.Value).ToList(),
            Routes = routes.Select(r => r.Value).ToList(),
            Upstreams = upstreams,
            Policies = policies,
            ClientIp = clientIp,
            Consumers = consumers,
            Metrics = metrics,
            AccessLog = accessLog,
            Tracing = tracing,
            Document = document,
            Redis = redis,
            Dns = dns,
            Warnings = context.Diagnostics.Warnings,
        };
    }
}
