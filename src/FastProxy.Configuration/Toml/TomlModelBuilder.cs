using FastProxy.Configuration.Reading;
using Tomlyn.Model;
using Tomlyn.Syntax;

namespace FastProxy.Configuration.Toml;

/// <summary>
/// Builds the untyped document and its <see cref="SourceMap"/> in one walk of Tomlyn's syntax tree, applying
/// TOML 1.0's rules on where a table may be defined (https://toml.io/en/v1.0.0#table, #array-of-tables).
/// <para>
/// We do not use Tomlyn's deserializer for this: its <c>TomlTable</c> reader replaces an array of tables when
/// <c>[[listeners]]</c> is continued after another table, and turns it into a plain table on a later
/// <c>[[listeners.tls]]</c>, so entries were silently lost (issue 13). Nor its syntax validator: it rejects
/// <c>[[a]] [a.b] [[a]] b = 1</c> (valid) and accepts <c>[[a]] b = 1 [a.b]</c> (a redefinition). Building the
/// model and the positions together also means a key path always names the same entry in both.
/// </para>
/// </summary>
internal sealed class TomlModelBuilder
{
    /// <summary>How a table came to be, which decides what may add to it later.</summary>
    private enum Origin
    {
        /// <summary>Named on the way by a longer header (<c>[a]</c> by <c>[a.b]</c>): a later <c>[a]</c> may still define it, once.</summary>
        Implicit,
        /// <summary>Defined by its own header (or the root, or an element of <c>[[...]]</c>): never again.</summary>
        Header,
        /// <summary>Made by dotted keys (<c>a.b = 1</c>): further dotted keys in the same block may add to it, headers may not define it.</summary>
        Dotted,
        /// <summary>An inline table, <c>{ ... }</c>, with everything in it: complete as written.</summary>
        Inline,
    }

    private readonly Dictionary<TomlTable, Origin> _origins = new(ReferenceEqualityComparer.Instance);
    private readonly string _file;
    private readonly SourceMap _map;
    private readonly DiagnosticBag _diagnostics;
    private bool _failed;

    private TomlModelBuilder(string file, DiagnosticBag diagnostics)
    {
        _file = file;
        _map = new SourceMap(file);
        _diagnostics = diagnostics;
    }

    /// <summary>The document, or null when it redefines something (each redefinition reported with both lines).</summary>
    public static (TomlTable Root, SourceMap Map)? Build(DocumentSyntax document, string file, DiagnosticBag diagnostics)
    {
        var builder = new TomlModelBuilder(file, diagnostics);
        var root = builder.NewTable(Origin.Header);
        builder.AddKeyValues(root, "", document.KeyValues);
        foreach (var table in document.Tables) builder.AddTable(root, table);
        return builder._failed ? null : (root, builder._map);
    }

    private TomlTable NewTable(Origin origin, bool inline = false)
    {
        var table = new TomlTable(inline);
        _origins[table] = origin;
        return table;
    }

    /// <summary>
    /// <c>[a.b.c]</c> or <c>[[a.b.c]]</c>. Each name on the way is a table (made if absent) or an array of tables,
    /// which stands for its last element so far: so <c>[[listeners.tls]]</c> or <c>[routes.match]</c> belongs
    /// to the entry above it, whatever other tables came in between.
    /// </summary>
    private void AddTable(TomlTable root, TableSyntaxBase header)
    {
        if (header.Name is null) return;
        var at = Location(header.Span);
        var segments = Segments(header.Name);
        if (segments.Count == 0) return;
        var parent = root;
        var path = "";
        for (var i = 0; i < segments.Count - 1; i++)
        {
            var name = segments[i].Name;
            path = KeyPath.Child(path, name);
            if (!parent.TryGetValue(name, out var existing))
            {
                var table = NewTable(Origin.Implicit);
                parent.Add(name, table);
                _map.Set(path, at, at);
                parent = table;
            }
            else if (existing is TomlTableArray array)
            {
                // Only [[...]] makes a TomlTableArray (a = [{...}] is a TomlArray), so it has an element.
                path = KeyPath.Index(path, array.Count - 1);
                parent = array[^1];
            }
            else if (existing is TomlTable table && _origins[table] != Origin.Inline)
            {
                parent = table;
            }
            else
            {
                Redefined(at, path);
                return;
            }
        }

        var last = segments[^1].Name;
        path = KeyPath.Child(path, last);
        parent.TryGetValue(last, out var current);
        TomlTable target;
        if (header is TableArraySyntax)
        {
            var array = current as TomlTableArray;
            if (current is null)
            {
                array = new TomlTableArray();
                parent.Add(last, array);
                _map.Set(path, at, at);
            }
            else if (array is null)
            {
                Redefined(at, path);
                return;
            }
            target = NewTable(Origin.Header);
            array!.Add(target);
            path = KeyPath.Index(path, array.Count - 1);
        }
        else if (current is null)
        {
            target = NewTable(Origin.Header);
            parent.Add(last, target);
        }
        else if (current is TomlTable table && _origins[table] == Origin.Implicit)
        {
            // [upstreams.app.health] first, [upstreams.app] later: the header that defines it is where it stands.
            _origins[table] = Origin.Header;
            target = table;
        }
        else
        {
            Redefined(at, path);
            return;
        }
        _map.Set(path, at, at);
        AddKeyValues(target, path, header.Items);
    }

    private void AddKeyValues(TomlTable table, string tablePath, IEnumerable<KeyValueSyntax> keyValues)
    {
        foreach (var kv in keyValues) AddKeyValue(table, tablePath, kv);
    }

    /// <summary><c>a.b.c = v</c>: the dotted part makes tables, or adds to ones dotted keys made; the last key must be new.</summary>
    private void AddKeyValue(TomlTable table, string tablePath, KeyValueSyntax kv)
    {
        if (kv.Key is null || kv.Value is null) return;
        var at = Location(kv.Span);
        var segments = Segments(kv.Key);
        if (segments.Count == 0) return;
        var parent = table;
        var path = tablePath;
        for (var i = 0; i < segments.Count - 1; i++)
        {
            var (name, span) = segments[i];
            path = KeyPath.Child(path, name);
            if (!parent.TryGetValue(name, out var existing))
            {
                var child = NewTable(Origin.Dotted);
                parent.Add(name, child);
                var where = Location(span);
                _map.Set(path, where, where);
                parent = child;
            }
            else if (existing is TomlTable child && _origins[child] == Origin.Dotted)
            {
                parent = child;
            }
            else
            {
                Redefined(at, path);
                return;
            }
        }

        var last = segments[^1];
        path = KeyPath.Child(path, last.Name);
        if (parent.ContainsKey(last.Name))
        {
            Redefined(at, path);
            return;
        }
        _map.Set(path, Location(last.Span), Location(kv.Value.Span));
        parent.Add(last.Name, Value(kv.Value, path));
    }

    /// <summary>The value as the validators read it: string, long, double, bool, TomlDateTime, TomlArray or an inline TomlTable.</summary>
    private object Value(ValueSyntax value, string path)
    {
        switch (value)
        {
            case StringValueSyntax s: return s.Value ?? "";
            case IntegerValueSyntax n: return n.Value;
            case FloatValueSyntax f: return f.Value;
            case BooleanValueSyntax b: return b.Value;
            case DateTimeValueSyntax d: return d.Value;
            case ArraySyntax array:
                var list = new TomlArray();
                foreach (var item in array.Items)
                {
                    if (item.Value is null) continue;
                    var itemPath = KeyPath.Index(path, list.Count);
                    var at = Location(item.Value.Span);
                    _map.Set(itemPath, at, at);
                    list.Add(Value(item.Value, itemPath));
                }
                return list;
            case InlineTableSyntax inline:
                // Dotted keys inside may add to each other ({ a.b = 1, a.c = 2 }); once closed, nothing may.
                var table = NewTable(Origin.Dotted, inline: true);
                foreach (var item in inline.Items)
                {
                    if (item.KeyValue is not null) AddKeyValue(table, path, item.KeyValue);
                }
                Seal(table);
                return table;
            default:
                // The parser reports anything else as a syntax error before we get here.
                throw new InvalidOperationException($"unexpected TOML value {value.Kind}");
        }
    }

    private void Seal(TomlTable table)
    {
        _origins[table] = Origin.Inline;
        foreach (var (_, value) in table)
        {
            if (value is TomlTable child && _origins[child] == Origin.Dotted) Seal(child);
        }
    }

    private void Redefined(SourceLocation at, string path)
    {
        _failed = true;
        _diagnostics.Error(at, "", $"the key `{path}` is already defined at line {_map.Key(path).Line} and cannot be redefined");
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
}
