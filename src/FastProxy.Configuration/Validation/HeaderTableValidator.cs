using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>headers = { "name" = "value" } tables (respond headers, match headers): names are tokens, values are safe to put on the wire.</summary>
internal static class HeaderTableValidator
{
    /// <param name="lowerCaseNames">Match headers compare case-insensitively, so they are stored lower-case; respond headers go out as written.</param>
    /// <param name="reserved">Names the proxy sets itself and a config may not.</param>
    public static List<KeyValuePair<string, string>> Read(TableReader? table, bool lowerCaseNames, IReadOnlyList<string> reserved)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (table is null) return headers;
        var context = table.Context;
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in table.Entries)
        {
            var path = table.PathOf(name);
            if (!HttpSyntax.IsToken(name))
            {
                context.ErrorAtKey(path, $"invalid header name \"{name}\": expected letters, digits and !#$%&'*+-.^_`|~");
                continue;
            }
            if (reserved.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                context.ErrorAtKey(path, $"{name} is set by the proxy");
                continue;
            }
            // RFC 9110 5.1: names are case-insensitive, so "X-A" and "x-a" are the same header.
            if (!names.Add(name))
            {
                context.ErrorAtKey(path, $"header \"{name}\" given twice (names are case-insensitive)");
                continue;
            }
            if (value is not string text)
            {
                context.Error(path, $"expected a string, got {TomlTypeNames.Of(value)}");
                continue;
            }
            if (HttpSyntax.FieldValueProblem(text) is { } problem)
            {
                context.Error(path, problem);
                continue;
            }
            headers.Add(new(lowerCaseNames ? name.ToLowerInvariant() : name, text));
        }
        return headers;
    }
}
