using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// What each route refers to exists, and the route fits the kind of listener it is on: http routes
/// match requests, tcp routes match the TLS server name and forward bytes.
/// </summary>
internal static class RouteReferenceValidator
{
    private static readonly string[] HttpConditions = ["host", "path", "path_prefix", "path_regex", "query", "methods", "headers"];

    public static void Check(LoadContext context, List<Located<RouteConfig>> routes, List<Located<ListenerConfig>> listeners,
        List<UpstreamConfig> upstreams, List<PolicyConfig> policies)
    {
        var upstreamNames = upstreams.Select(u => u.Name).ToList();
        var policyNames = policies.Select(p => p.Name).ToList();
        var listenerNames = listeners.Select(l => l.Value.Name).Where(n => n.Length > 0).ToList();

        foreach (var (route, path) in routes)
        {
            if (route.Upstream is { } upstream && !upstreamNames.Contains(upstream, StringComparer.Ordinal))
            {
                context.Error(KeyPath.Child(path, "upstream"), $"no upstream named \"{upstream}\" (known: {Suggestions.KnownList(upstreamNames)})");
            }
            if (route.GrpcWeb) CheckGrpcWeb(context, route, path, upstreams);
            for (var i = 0; i < route.Policies.Count; i++)
            {
                if (!policyNames.Contains(route.Policies[i], StringComparer.Ordinal))
                {
                    context.Error(KeyPath.Index(KeyPath.Child(path, "policies"), i), $"no policy named \"{route.Policies[i]}\" (known: {Suggestions.KnownList(policyNames)})");
                }
            }
            var targets = new List<ListenerConfig>();
            for (var i = 0; i < (route.Listeners?.Count ?? 0); i++)
            {
                var name = route.Listeners![i];
                var listener = listeners.Find(l => l.Value.Name == name).Value;
                if (listener is null)
                {
                    context.Error(KeyPath.Index(KeyPath.Child(path, "listeners"), i), $"no listener named \"{name}\" (known: {Suggestions.KnownList(listenerNames)})");
                }
                else
                {
                    targets.Add(listener);
                }
            }
            CheckListenerKind(context, route, path, targets);
        }
    }

    /// <summary>gRPC-Web is converted to gRPC, and gRPC needs HTTP/2 (trailers): the route's upstream must speak h2c or h2.</summary>
    private static void CheckGrpcWeb(LoadContext context, RouteConfig route, string path, List<UpstreamConfig> upstreams)
    {
        var key = KeyPath.Child(path, "grpc_web");
        if (route.Upstream is null)
        {
            context.ErrorAtKey(key, "converts gRPC-Web requests for a gRPC upstream: the route needs upstream = \"NAME\"");
            return;
        }
        var upstream = upstreams.Find(u => u.Name == route.Upstream);
        if (upstream is not null && upstream.Protocol == UpstreamProtocol.Http1)
        {
            context.ErrorAtKey(key, $"gRPC needs HTTP/2: upstream \"{upstream.Name}\" must have protocol = \"h2c\" or \"h2\"");
        }
    }

    private static void CheckListenerKind(LoadContext context, RouteConfig route, string path, List<ListenerConfig> named)
    {
        var tcp = named.Where(l => l.Protocol == ListenerProtocol.Tcp).ToList();
        var http = named.Where(l => l.Protocol == ListenerProtocol.Http).ToList();
        var match = KeyPath.Child(path, "match");
        if (tcp.Count > 0 && http.Count > 0)
        {
            context.Error(KeyPath.Child(path, "listeners"),
                $"mixes http and tcp listeners (\"{http[0].Name}\" is http, \"{tcp[0].Name}\" is tcp): give each kind its own route");
            return;
        }
        if (tcp.Count == 0)
        {
            // Without `listeners` a route is on every http listener, so it is an http route too.
            if (route.Match.Sni is not null)
            {
                context.ErrorAtKey(KeyPath.Child(match, "sni"), "sni matching is for routes on tcp listeners; http routes match on host");
            }
            return;
        }
        if (route.Respond is not null)
        {
            context.ErrorAtKey(KeyPath.Child(path, "respond"), "a route on a tcp listener forwards bytes to an upstream; respond is for http listeners");
        }
        if (route.Static is not null)
        {
            context.ErrorAtKey(KeyPath.Child(path, "static"), "a route on a tcp listener forwards bytes to an upstream; static is for http listeners");
        }
        if (route.StripPrefix is not null)
        {
            context.ErrorAtKey(KeyPath.Child(path, "strip_prefix"), "only applies to routes on http listeners");
        }
        if (route.GrpcWeb)
        {
            context.ErrorAtKey(KeyPath.Child(path, "grpc_web"), "only applies to routes on http listeners");
        }
        var conditions = HttpConditionsGiven(route.Match);
        foreach (var condition in conditions)
        {
            context.ErrorAtKey(KeyPath.Child(match, condition), "routes on tcp listeners match on sni only (the request is not HTTP, or is still encrypted)");
        }
        if (route.Match.Sni is null && conditions.Count == 0)
        {
            context.Error(path, "a route on a tcp listener needs [routes.match] sni = \"NAME\" (for every connection, set upstream on the listener instead)");
        }
    }

    private static List<string> HttpConditionsGiven(MatchConfig match)
    {
        var given = new List<string>();
        if (match.Host is not null) given.Add("host");
        if (match.Path is not null) given.Add("path");
        if (match.PathPrefix is not null) given.Add("path_prefix");
        if (match.PathRegex is not null) given.Add("path_regex");
        if (match.Query.Count > 0) given.Add("query");
        if (match.Methods is not null) given.Add("methods");
        if (match.Headers.Count > 0) given.Add("headers");
        return given;
    }
}
