using FastProxy.Configuration.Reading;
using Tomlyn.Syntax;

namespace FastProxy.Configuration.Toml;

/// <summary>
/// Where each key path stands in the file, built from Tomlyn's syntax tree. The deserialized
/// model carries positions for keys only, not for values or array elements, and we want errors
/// to point at the offending value (<c>proxy.toml:14:11</c> is the value of <c>upstream = ...</c>).
/// </summary>
internal sealed class SourceMap
{
    private readonly Dictionary<string, (SourceLocation Key, SourceLocation Value)> _entries = new(StringComparer.Ordinal);
    private readonly string _file;

    private SourceMap(string file) => _file = file;

    /// <summary>Where the key itself is written (for a table: its header).</summary>
    public SourceLocation Key(string path) => Find(path).Key;

    /// <summary>Where the value starts (for a table: its header or its '{').</summary>
    public SourceLocation Value(string path) => Find(path).Value;

    private (SourceLocation Key, SourceLocation Value) Find(string path)
    {
        for (string? p = path; p is not null; p = KeyPath.Parent(p))
        {
            if (_entries.TryGetValue(p, out var entry)) return entry;
        }
        var file = new SourceLocation(_file, 0, 0);
        return (file, file);
    }

    public static SourceMap Build(DocumentSyntax document, string file)
    {
        var map = new SourceMap(file);
        map.AddKeyValues("", document.KeyValues);

        // [[a.b]] appends to the array at a.b; a later [a.b.c] or [[a.b.c]] refers to its last element.
        var arrayCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var table in document.Tables)
        {
            if (table.Name is null) continue;
            var where = map.Location(table.Span);
            var segments = Segments(table.Name);
            var path = "";
            for (var i = 0; i < segments.Count; i++)
            {
                path = KeyPath.Child(path, segments[i].Name);
                var last = i == segments.Count - 1;
                if (last && table is TableArraySyntax)
                {
                    map.SetIfAbsent(path, where, where);
                    arrayCounts.TryGetValue(path, out var count);
                    arrayCounts[path] = count + 1;
                    path = KeyPath.Index(path, count);
                    map.Set(path, where, where);
                }
                else if (last)
                {
                    map.Set(path, where, where);
                }
                else
                {
                    map.SetIfAbsent(path, where, where);
                    if (arrayCounts.TryGetValue(path, out var count)) path = KeyPath.Index(path, count - 1);
                }
            }
            map.AddKeyValues(path, table.Items);
        }
        return map;
    }

    private void AddKeyValues(string tablePath, IEnumerable<KeyValueSyntax> keyValues)
    {
        foreach (var kv in keyValues) AddKeyValue(tablePath, kv);
    }

    private void AddKeyValue(string tablePath, KeyValueSyntax kv)
    {
        if (kv.Key is null || kv.Value is null) return;
        var segments = Segments(kv.Key);
        var path = tablePath;
        // a.b.c = v defines the tables a and a.b on the way.
        for (var i = 0; i < segments.Count - 1; i++)
        {
            path = KeyPath.Child(path, segments[i].Name);
            var at = Location(segments[i].Span);
            SetIfAbsent(path, at, at);
        }
        path = KeyPath.Child(path, segments[^1].Name);
        Set(path, Location(segments[^1].Span), Location(kv.Value.Span));
        AddValue(path, kv.Value);
    }

    private void AddValue(string path, ValueSyntax value)
    {
        switch (value)
        {
            case ArraySyntax array:
                var index = 0;
                foreach (var item in array.Items)
                {
                    if (item.Value is null) continue;
                    var itemPath = KeyPath.Index(path, index++);
                    var at = Location(item.Value.Span);
                    Set(itemPath, at, at);
                    AddValue(itemPath, item.Value);
                }
                break;
            case InlineTableSyntax table:
                foreach (var item in table.Items)
                {
                    if (item.KeyValue is not null) AddKeyValue(path, item.KeyValue);
                }
                break;
        }
    }

    private static List<(string Name, SourceSpan Span)> Segments(KeySyntax key)
    {
        var list = new List<(string, SourceSpan)>();
        if (key.Key is not null) list.Add((Text(key.Key), key.Key.Span));
        foreach (var dotted in key.DotKeys)
        {
            if (dotted.Key is not null) list.Add((Text(dotted.Key), dotted.Key.Span));
        }
        return list;
    }

    private static string Text(BareKeyOrStringValueSyntax key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax quoted => quoted.Value ?? "",
        _ => "",
    };

    // Tomlyn positions are 0-based; people and editors count from 1.
    private SourceLocation Location(SourceSpan span) => new(_file, span.Start.Line + 1, span.Start.Column + 1);

    private void Set(string path, SourceLocation key, SourceLocation value) => _entries[path] = (key, value);

    private void SetIfAbsent(string path, SourceLocation key, SourceLocation value) => _entries.TryAdd(path, (key, value));
}
