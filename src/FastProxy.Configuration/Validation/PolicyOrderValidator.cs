using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// The order of each chain (a listener's policies, then a route's): an authorize with no authentication before it can
/// only refuse, since nothing has named a consumer or verified claims yet. A warning, not an error: the config still
/// does what it says (refuses with 403), which may be meant on a route being closed down.
/// </summary>
internal static class PolicyOrderValidator
{
    /// <summary>The kinds that identify the caller (set the consumer or the claims authorize reads).</summary>
    private static readonly string[] Authenticating = ["api_key", "basic_auth", "jwt", "forward_auth"];

    public static void Check(LoadContext context, List<Located<ListenerConfig>> listeners, List<Located<RouteConfig>> routes, List<PolicyConfig> policies)
    {
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var policy in policies) types[policy.Name] = policy.Type;
        var warned = new HashSet<string>(StringComparer.Ordinal);
        var http = listeners.Where(l => l.Value.Protocol == ListenerProtocol.Http).ToList();

        foreach (var (listener, path) in http)
        {
            // On its own: the listener's chain runs before any route's, for every request.
            CheckChain(context, types, warned, listener.Policies, KeyPath.Child(path, "policies"), authenticatedBefore: false, $"listener \"{listener.Name}\"");
        }
        foreach (var (route, path) in routes)
        {
            var on = route.Listeners is null ? http : http.Where(l => route.Listeners.Contains(l.Value.Name, StringComparer.Ordinal)).ToList();
            if (on.Count == 0) continue;
            // Warned when one of the listeners the route is on leaves it unauthenticated (a route on two listeners
            // may be behind an authenticating listener on one and not on the other).
            var open = on.FirstOrDefault(l => !l.Value.Policies.Any(p => types.TryGetValue(p, out var t) && Authenticating.Contains(t)));
            if (open.Value is null) continue;
            CheckChain(context, types, warned, route.Policies, KeyPath.Child(path, "policies"), authenticatedBefore: false,
                on.Count > 1 || route.Listeners is not null ? $"route \"{route.Name}\" on listener \"{open.Value.Name}\"" : $"route \"{route.Name}\"");
        }
    }

    private static void CheckChain(LoadContext context, Dictionary<string, string> types, HashSet<string> warned, IReadOnlyList<string> chain,
        string path, bool authenticatedBefore, string where)
    {
        bool authenticated = authenticatedBefore;
        for (int i = 0; i < chain.Count; i++)
        {
            if (!types.TryGetValue(chain[i], out var type)) continue; // reported elsewhere
            if (Authenticating.Contains(type, StringComparer.Ordinal))
            {
                authenticated = true;
            }
            else if (type == "authorize" && !authenticated)
            {
                var at = KeyPath.Index(path, i);
                if (warned.Add(at))
                {
                    context.Warning(at, $"on {where}, authorize \"{chain[i]}\" runs before any authentication (api_key, basic_auth, jwt, forward_auth): " +
                        "with no consumer and no claims it refuses every request with 403; list it after one");
                }
            }
        }
    }
}
