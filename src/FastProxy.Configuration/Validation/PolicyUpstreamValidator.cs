using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// What policies say about upstreams holds: every upstream a policy sends requests to exists (version's versions), and
/// a route with neither upstream nor respond is one whose chain always answers (mock, ...) or picks the upstream itself
/// (version) on every listener it serves.
/// </summary>
internal static class PolicyUpstreamValidator
{
    public static void Check(LoadContext context, List<Located<RouteConfig>> routes, List<Located<ListenerConfig>> listeners,
        List<UpstreamConfig> upstreams, List<PolicyConfig> policies)
    {
        var upstreamNames = upstreams.Select(u => u.Name).ToList();
        foreach (var policy in policies)
        {
            if (policy.Options is not IUpstreamReferences references) continue;
            foreach (var (upstream, keyPath) in references.UpstreamReferences)
            {
                if (!upstreamNames.Contains(upstream, StringComparer.Ordinal))
                {
                    context.Error(keyPath, $"no upstream named \"{upstream}\" (known: {Suggestions.KnownList(upstreamNames)})");
                }
            }
        }

        foreach (var (route, path) in routes)
        {
            if (route.Upstream is not null || route.Respond is not null || route.Static is not null) continue;
            var on = listeners.Select(l => l.Value).Where(l => route.Listeners is null ? l.Protocol == ListenerProtocol.Http : route.Listeners.Contains(l.Name)).ToList();
            if (on.Exists(l => l.Protocol == ListenerProtocol.Tcp))
            {
                context.Error(path, "needs upstream = \"NAME\" (a route on a tcp listener forwards bytes)");
                continue;
            }
            bool routeAnswers = Answers(route.Policies, policies);
            // On every listener it serves, the chain (the listener's policies, then the route's) must end the request's way.
            if (routeAnswers || (on.Count > 0 && on.TrueForAll(l => Answers(l.Policies, policies)))) continue;
            context.Error(path, "needs upstream = \"NAME\" or respond = { status = ..., body = ... }, or a policy that answers every request (mock) or picks the upstream (version)");
        }
    }

    /// <summary>One of the named policies always answers or picks the upstream (an unknown name is reported elsewhere).</summary>
    private static bool Answers(IReadOnlyList<string> names, List<PolicyConfig> policies)
    {
        foreach (var name in names)
        {
            var policy = policies.Find(p => p.Name == name);
            if (policy is null || PolicyTypes.Find(policy.Type) is not { } type) continue;
            if (type.AlwaysAnswers || type.PicksUpstream) return true;
        }
        return false;
    }
}

/// <summary>Policy options that send requests to upstreams by name (version's versions): checked to exist, and counted as uses.</summary>
internal interface IUpstreamReferences
{
    /// <summary>Each upstream named, with the key path that names it (for errors).</summary>
    IEnumerable<(string Upstream, string KeyPath)> UpstreamReferences { get; }
}
