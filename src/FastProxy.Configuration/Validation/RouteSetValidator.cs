using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>All [[routes]] together: names identify routes in logs and metrics, so they are unique.</summary>
internal static class RouteSetValidator
{
    public static List<Located<RouteConfig>> Read(TableReader root)
    {
        var routes = new List<Located<RouteConfig>>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var index = 0;
        foreach (var table in root.Tables("routes", RouteValidator.Keys, RouteValidator.Misplaced) ?? [])
        {
            var route = RouteValidator.Read(table, index++);
            if (!seen.TryAdd(route.Name, table.Path))
            {
                root.Context.Error(KeyPath.Child(table.Path, "name"), $"duplicate route name \"{route.Name}\" (also {seen[route.Name]})");
            }
            routes.Add(new(route, table.Path));
        }
        return routes;
    }
}
