using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>A tcp listener has somewhere to send bytes: its own upstream, or routes by SNI naming it.</summary>
internal static class TcpListenerValidator
{
    public static void Check(LoadContext context, List<Located<ListenerConfig>> listeners, List<Located<RouteConfig>> routes, List<UpstreamConfig> upstreams)
    {
        foreach (var (listener, path) in listeners)
        {
            if (listener.Protocol != ListenerProtocol.Tcp) continue;
            if (listener.Upstream is { } upstream)
            {
                if (upstreams.Find(u => u.Name == upstream) is null)
                {
                    context.Error(KeyPath.Child(path, "upstream"),
                        $"no upstream named \"{upstream}\" (known: {Suggestions.KnownList(upstreams.Select(u => u.Name))})");
                }
                continue;
            }
            var routed = listener.Name.Length > 0 && routes.Exists(r => r.Value.Listeners?.Contains(listener.Name, StringComparer.Ordinal) == true);
            if (!routed)
            {
                context.Error(path, "a tcp listener needs upstream = \"NAME\", or [[routes]] that list it in listeners and match on sni");
            }
        }
    }
}
