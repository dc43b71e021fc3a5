using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>[routes.match]: the conditions a request must meet. Values are normalised here so matching can compare ordinally.</summary>
internal static class MatchValidator
{
    public static readonly string[] Keys = ["host", "path", "path_prefix", "path_regex", "query", "methods", "headers", "sni"];

    public static MatchConfig Read(TableReader? table)
    {
        if (table is null) return new MatchConfig();
        var context = table.Context;

        string? host = null;
        if (table.String("host") is { } hostText)
        {
            host = HostNames.NormalizePattern(hostText, allowIpLiteral: true, out var problem);
            if (host is null) table.Error("host", problem);
        }

        var path = ReadPath(table, "path");
        var pathPrefix = ReadPath(table, "path_prefix");
        if (table.Has("path") && table.Has("path_prefix"))
        {
            context.ErrorAtKey(table.PathOf("path_prefix"), "give either path or path_prefix, not both");
        }

        System.Text.RegularExpressions.Regex? pathRegex = null;
        if (table.String("path_regex") is { } pattern)
        {
            pathRegex = PathRegex.Compile(pattern, out var problem);
            if (pathRegex is null) table.Error("path_regex", problem!);
        }

        var query = new List<KeyValuePair<string, string>>();
        var queryTable = table.Table("query", keys: null);
        foreach (var (name, value) in queryTable?.Entries ?? [])
        {
            var at = queryTable!.PathOf(name);
            if (name.Length == 0) context.ErrorAtKey(at, "a query parameter needs a name");
            else if (value is not string text) context.Error(at, $"expected the parameter's value as a string, got {TomlTypeNames.Of(value)}");
            else query.Add(new(name, text));
        }

        List<string>? methods = null;
        if (table.Strings("methods") is { } methodList)
        {
            methods = [];
            foreach (var (method, methodPath) in methodList)
            {
                if (HttpSyntax.IsToken(method)) methods.Add(method.ToUpperInvariant());
                else context.Error(methodPath, $"invalid method \"{method}\": expected a token such as \"GET\"");
            }
            if (methodList.Count == 0) table.Error("methods", "must not be empty: leave it out to match any method");
        }

        string? sni = null;
        if (table.String("sni") is { } sniText)
        {
            sni = HostNames.NormalizePattern(sniText, allowIpLiteral: false, out var problem);
            if (sni is null) table.Error("sni", problem);
        }

        return new MatchConfig
        {
            Host = host,
            Path = path,
            PathPrefix = pathPrefix,
            PathRegex = pathRegex,
            Query = query,
            Methods = methods,
            Headers = HeaderTableValidator.Read(table.Table("headers", keys: null), lowerCaseNames: true, reserved: []),
            Sni = sni,
        };
    }

    private static string? ReadPath(TableReader table, string key)
    {
        var value = table.String(key);
        if (value is not null && HttpSyntax.PathProblem(value) is { } problem)
        {
            table.Error(key, problem);
            return null;
        }
        return value;
    }
}
