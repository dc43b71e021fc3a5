using FastProxy.Http1;

namespace FastProxy.Routing;

/// <summary>The routes of one listener, in file order: the first that matches wins; none matching is a 404.</summary>
internal sealed class Router(Route[] routes)
{
    public IReadOnlyList<Route> Routes => routes;

    public Route? Match(RequestHead request, ReadOnlySpan<byte> head)
    {
        foreach (var route in routes)
        {
            if (route.Matches(request, head)) return route;
        }
        return null;
    }
}
