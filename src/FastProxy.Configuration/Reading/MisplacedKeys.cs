namespace FastProxy.Configuration.Reading;

/// <summary>
/// Keys that are valid, just in another table (a health check's interval on the upstream itself):
/// "it belongs in [upstreams.NAME.health]" helps more than a spelling suggestion.
/// </summary>
internal static class MisplacedKeys
{
    /// <summary>Maps each key of each table to where it belongs; the first table listing a key wins.</summary>
    public static IReadOnlyDictionary<string, string> Homes(params (string[] Keys, string Home)[] tables)
    {
        var homes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (keys, home) in tables)
        {
            foreach (var key in keys) homes.TryAdd(key, home);
        }
        return homes;
    }
}
