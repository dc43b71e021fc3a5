using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// request_buffering holds a whole chunked request body in memory before it is sent, so it needs a bound: the max_body
/// of every listener whose routes lead to the upstream. An unlimited max_body ("0") there is refused.
/// </summary>
internal static class RequestBufferingValidator
{
    public static void Check(LoadContext context, List<Located<RouteConfig>> routes, List<Located<ListenerConfig>> listeners, List<UpstreamConfig> upstreams)
    {
        foreach (var upstream in upstreams)
        {
            if (!upstream.RequestBuffering) continue;
            var unbounded = Unbounded(upstream.Name, routes, listeners);
            if (unbounded is null) continue;
            context.Error(KeyPath.Child(KeyPath.Child("upstreams", upstream.Name), "request_buffering"),
                $"holds a chunked request body in memory up to max_body, but listener \"{unbounded}\" has max_body = \"0\" (unlimited): give it a max_body");
        }
    }

    /// <summary>The first http listener that routes to the upstream with no max_body, or null.</summary>
    private static string? Unbounded(string upstream, List<Located<RouteConfig>> routes, List<Located<ListenerConfig>> listeners)
    {
        foreach (var (route, _) in routes)
        {
            if (route.Upstream != upstream) continue;
            foreach (var (listener, _) in listeners)
            {
                if (listener.Protocol != ListenerProtocol.Http || listener.Limits.MaxBody != 0) continue;
                // A route without `listeners` serves every http listener.
                if (route.Listeners is null || route.Listeners.Contains(listener.Name, StringComparer.Ordinal)) return listener.Name;
            }
        }
        return null;
    }
}
