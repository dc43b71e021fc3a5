namespace FastProxy.Configuration.Validation;

/// <summary>
/// Every table of proxy.toml that has a fixed set of keys, with the keys its validator accepts: the validators'
/// own lists, not copies, so a key added to a validator is a key docs/configuration.md must describe
/// (tests/FastProxy.Tests/Configuration/DocsTests.cs). Free-form tables (`[upstreams]`, `[policies]`, `headers`)
/// have names chosen by the user and are not listed.
/// </summary>
internal static class ConfigKeys
{
    /// <param name="Name">The table as written in proxy.toml: "[global]", "[[listeners]]", "[upstreams.NAME.health]"; "" for the top level.</param>
    /// <param name="Keys">The keys it accepts; anything else is an "unknown key" error.</param>
    internal sealed record Table(string Name, IReadOnlyList<string> Keys);

    public static IReadOnlyList<Table> Tables { get; } = Build();

    private static List<Table> Build()
    {
        List<Table> tables =
        [
            new("", ProxyConfigValidator.Keys),
            new("[global]", GlobalValidator.Keys),
            new("[admin]", AdminValidator.Keys),
            new("[limits]", LimitsValidator.Keys),
            new("[listeners.limits]", LimitsValidator.Keys),
            new("[[listeners]]", ListenerValidator.Keys),
            new("[[listeners.tls]]", TlsValidator.Keys),
            new("[listeners.hsts]", HstsValidator.Keys),
            new("[[routes]]", RouteValidator.Keys),
            new("[routes.match]", MatchValidator.Keys),
            new("[routes.respond]", RespondValidator.Keys),
            new("[routes.static]", StaticValidator.Keys),
            new("[upstreams.NAME]", UpstreamValidator.Keys),
            new("[[upstreams.NAME.servers]]", ServerValidator.Keys),
            new("[upstreams.NAME.health]", HealthCheckValidator.Keys),
            new("[upstreams.NAME.passive]", PassiveHealthValidator.Keys),
            new("[upstreams.NAME.retry]", RetryValidator.Keys),
            new("[upstreams.NAME.limits]", UpstreamLimitsValidator.Keys),
            new("[upstreams.NAME.sticky]", UpstreamValidator.StickyKeys),
            new("[client_ip]", ClientIpValidator.Keys),
            new("[consumers.NAME]", ConsumerSetValidator.Keys),
            new("[metrics]", MetricsValidator.Keys),
            new("[access_log]", AccessLogValidator.Keys),
            new("[tracing]", TracingValidator.Keys),
            new("[redis]", RedisValidator.Keys),
            new("[dns]", DnsValidator.Keys),
            // `type` picks the kind, and the kind its keys (PolicySetValidator).
            new("[policies.NAME]", ["type"]),
        ];
        foreach (var type in PolicyTypes.All)
        {
            tables.Add(new($"[policies.NAME] type = \"{type.Name}\"", type.Keys));
        }
        return tables;
    }
}
