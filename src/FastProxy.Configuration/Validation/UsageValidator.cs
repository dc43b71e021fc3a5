using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>Valid but probably not what was meant: things defined and never used. Warnings, not errors.</summary>
internal static class UsageValidator
{
    public static void Check(LoadContext context, List<Located<ListenerConfig>> listeners, List<Located<RouteConfig>> routes, List<UpstreamConfig> upstreams,
        List<PolicyConfig> policies)
    {
        foreach (var upstream in upstreams)
        {
            var used = routes.Exists(r => r.Value.Upstream == upstream.Name) || listeners.Exists(l => l.Value.Upstream == upstream.Name)
                || policies.Exists(p => p.Options is IUpstreamReferences references && references.UpstreamReferences.Any(u => u.Upstream == upstream.Name));
            if (!used)
            {
                context.Warning(KeyPath.Child("upstreams", upstream.Name), "not used by any route or listener");
            }
        }
        foreach (var (listener, path) in listeners)
        {
            if (listener.Protocol != ListenerProtocol.Http) continue;
            // A route without `listeners` serves every http listener.
            var served = routes.Exists(r => r.Value.Listeners is null || r.Value.Listeners.Contains(listener.Name, StringComparer.Ordinal));
            if (!served)
            {
                context.Warning(path, "no route serves this listener: every request gets 404");
            }
        }
    }
}
