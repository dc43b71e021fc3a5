using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Toml;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// A policy built from values a program holds (the ingress controller's annotations) rather than from a file: the
/// values go into an in-memory table as typed values (strings stay strings: nothing is parsed as TOML text, so no value
/// can add a key or a table) and are checked by the same <see cref="IPolicyType"/> a [policies.NAME] table is.
/// </summary>
public static class PolicyValues
{
    /// <param name="type">The policy kind ("cors", "rate_limit", ...).</param>
    /// <param name="values">Key to value: string, bool, long, or a list of strings.</param>
    /// <param name="source">What the values came from, for the messages ("annotation fastproxy.io/cors-origins of default/web").</param>
    /// <param name="errors">The problems found (empty on success).</param>
    public static PolicyOptions? Read(string type, IReadOnlyList<KeyValuePair<string, object>> values, string source, string baseDirectory, out IReadOnlyList<string> errors)
    {
        var kind = PolicyTypes.Find(type) ?? throw new ArgumentException($"no policy type \"{type}\"", nameof(type));
        var table = new TomlTable();
        foreach (var (key, value) in values)
        {
            table[key] = value switch
            {
                string or bool or long => value,
                int i => (long)i,
                IEnumerable<string> strings => ToArray(strings),
                _ => throw new ArgumentException($"unsupported value for {key}: {value.GetType().Name}", nameof(values)),
            };
        }
        var diagnostics = new DiagnosticBag();
        var context = new LoadContext(source, baseDirectory.Length > 0 ? baseDirectory : Environment.CurrentDirectory, new SourceMap(source), diagnostics, ConfigLoadOptions.Default);
        var reader = new TableReader(context, table, type, kind.Keys);
        var options = kind.Read(reader);
        var list = new List<string>();
        foreach (var error in diagnostics.Errors) list.Add(error.Key.Length == 0 ? error.Message : $"{error.Key}: {error.Message}");
        errors = list;
        return list.Count == 0 ? options : null;
    }

    private static TomlArray ToArray(IEnumerable<string> list)
    {
        var array = new TomlArray();
        foreach (var item in list) array.Add(item);
        return array;
    }
}
