using System.Globalization;
using FastProxy.Configuration.Values;
using Tomlyn.Model;

namespace FastProxy.Configuration.Reading;

/// <summary>
/// Typed, error-reporting access to one TOML table. Every getter returns null when the key is
/// absent or wrong (having reported why), so section readers read straight through and keep
/// collecting problems instead of stopping at the first.
/// </summary>
internal sealed class TableReader
{
    private readonly TomlTable _table;

    /// <param name="keys">The keys this table accepts; any other is reported as unknown. Null: free-form (names chosen by the user).</param>
    /// <param name="misplaced">Keys that belong in another table, with where: said instead of a spelling suggestion.</param>
    public TableReader(LoadContext context, TomlTable table, string path, IReadOnlyList<string>? keys, IReadOnlyDictionary<string, string>? misplaced = null)
    {
        Context = context;
        _table = table;
        Path = path;
        if (keys is not null) CheckKeys(keys, misplaced);
    }

    public LoadContext Context { get; }
    public string Path { get; }

    public string PathOf(string key) => KeyPath.Child(Path, key);

    public bool Has(string key) => _table.ContainsKey(key);

    /// <summary>The entries in file order, for tables whose keys are names (upstreams, headers).</summary>
    public IEnumerable<KeyValuePair<string, object>> Entries => _table;

    public void Error(string key, string message) => Context.Error(PathOf(key), message);

    /// <summary>Reported at the table itself: its header, or its '{'.</summary>
    public void TableError(string message) => Context.Error(Path, message);

    public void Missing(string key) => TableError($"missing required key \"{key}\"");

    // A typo must not silently do nothing: every key not in the list is an error.
    private void CheckKeys(IReadOnlyList<string> keys, IReadOnlyDictionary<string, string>? misplaced)
    {
        foreach (var key in _table.Keys)
        {
            if (keys.Contains(key, StringComparer.Ordinal)) continue;
            var hint = misplaced is not null && misplaced.TryGetValue(key, out var home)
                ? $"it belongs in {home}"
                : Suggestions.Closest(key, keys) is { } close
                ? $"did you mean \"{close}\"?"
                : $"known: {Suggestions.KnownList(keys)}";
            Context.ErrorAtKey(PathOf(key), $"unknown key ({hint})");
        }
    }

    /// <summary>The value as parsed, for keys that take more than one type.</summary>
    public object? Raw(string key) => _table.TryGetValue(key, out var value) ? value : null;

    private void WrongType(string key, string expected, object value) =>
        Error(key, $"expected {expected}, got {TomlTypeNames.Of(value)}");

    public string? String(string key)
    {
        var value = Raw(key);
        if (value is null or string) return (string?)value;
        WrongType(key, "a string", value);
        return null;
    }

    /// <summary>Present, a string, and not empty; otherwise reported.</summary>
    public string? RequiredString(string key)
    {
        if (!Has(key))
        {
            Missing(key);
            return null;
        }
        var value = String(key);
        if (value is { Length: 0 })
        {
            Error(key, "must not be empty");
            return null;
        }
        return value;
    }

    public bool? Bool(string key)
    {
        var value = Raw(key);
        if (value is null or bool) return (bool?)value;
        WrongType(key, "a boolean (true or false)", value);
        return null;
    }

    public long? Integer(string key)
    {
        var value = Raw(key);
        if (value is null or long) return (long?)value;
        WrongType(key, "an integer", value);
        return null;
    }

    public int? Int(string key, int min, int max = int.MaxValue)
    {
        var value = Integer(key);
        if (value is null) return null;
        if (value < min || value > max)
        {
            Error(key, RangeMessage(min, max, value.Value.ToString(CultureInfo.InvariantCulture)));
            return null;
        }
        return (int)value.Value;
    }

    public TimeSpan? Duration(string key, bool allowZero = false)
    {
        var value = Raw(key);
        if (value is null) return null;
        if (value is not string text)
        {
            WrongType(key, "a duration string such as \"5s\"", value);
            return null;
        }
        if (!Durations.TryParse(text, out var duration, out var problem))
        {
            Error(key, problem);
            return null;
        }
        if (duration <= TimeSpan.Zero && !allowZero)
        {
            Error(key, "must be greater than 0");
            return null;
        }
        return duration;
    }

    /// <param name="max">The largest size the runtime can hold (e.g. int.MaxValue for buffer sizes).</param>
    public long? Size(string key, long max, bool allowZero = false)
    {
        var value = Raw(key);
        if (value is null) return null;
        if (value is not string text)
        {
            WrongType(key, "a size string such as \"16KiB\"", value);
            return null;
        }
        if (!Sizes.TryParse(text, out var size, out var problem))
        {
            Error(key, problem);
            return null;
        }
        if (size == 0 && !allowZero)
        {
            Error(key, "must be greater than 0");
            return null;
        }
        if (size > max)
        {
            Error(key, $"must be at most {Sizes.Format(max)}");
            return null;
        }
        return size;
    }

    /// <summary>One of a fixed set of names, e.g. balance = "round_robin".</summary>
    public T? Choice<T>(string key, string what, IReadOnlyList<(string Name, T Value)> choices) where T : struct
    {
        var text = String(key);
        if (text is null) return null;
        foreach (var (name, choice) in choices)
        {
            if (string.Equals(name, text, StringComparison.Ordinal)) return choice;
        }
        Error(key, $"unknown {what} \"{text}\" (known: {Suggestions.KnownList(choices.Select(c => c.Name))})");
        return null;
    }

    /// <summary>A sub-table, [a.b] or b = { ... }.</summary>
    public TableReader? Table(string key, IReadOnlyList<string>? keys)
    {
        var value = Raw(key);
        if (value is null) return null;
        if (value is TomlTable table) return new TableReader(Context, table, PathOf(key), keys);
        WrongType(key, value is TomlTableArray ? "a table ([...], not [[...]])" : "a table", value);
        return null;
    }

    /// <summary>The elements of an array, [..] or [[..]], each with its own key path.</summary>
    public List<(object Value, string Path)>? Elements(string key)
    {
        var value = Raw(key);
        IEnumerable<object?> items;
        switch (value)
        {
            case null: return null;
            case TomlTableArray tables: items = tables; break;
            case TomlArray array: items = array; break;
            default:
                WrongType(key, "an array", value);
                return null;
        }
        var list = new List<(object, string)>();
        var index = 0;
        foreach (var item in items)
        {
            list.Add((item!, KeyPath.Index(PathOf(key), index++)));
        }
        return list;
    }

    /// <summary>An array of tables: [[key]] blocks, or key = [{ ... }, { ... }].</summary>
    public List<TableReader>? Tables(string key, IReadOnlyList<string> keys, IReadOnlyDictionary<string, string>? misplaced = null)
    {
        var value = Raw(key);
        if (value is TomlTable)
        {
            // [listeners] instead of [[listeners]] is the classic slip: say so.
            Error(key, $"expected an array of tables ([[{PathOf(key)}]]), got a table");
            return null;
        }
        var elements = Elements(key);
        if (elements is null) return null;
        var list = new List<TableReader>();
        foreach (var (item, path) in elements)
        {
            if (item is TomlTable table) list.Add(new TableReader(Context, table, path, keys, misplaced));
            else Context.Error(path, $"expected a table, got {TomlTypeNames.Of(item)}");
        }
        return list;
    }

    /// <summary>An array of strings, each with its key path for precise errors.</summary>
    public List<(string Value, string Path)>? Strings(string key)
    {
        var value = Raw(key);
        if (value is string)
        {
            // A lone string where a list is expected: easy to fix, so tell exactly how.
            WrongType(key, $"an array of strings (write [\"{value}\"])", value);
            return null;
        }
        var elements = Elements(key);
        if (elements is null) return null;
        var list = new List<(string, string)>();
        foreach (var (item, path) in elements)
        {
            if (item is string s) list.Add((s, path));
            else Context.Error(path, $"expected a string, got {TomlTypeNames.Of(item)}");
        }
        return list;
    }

    public static string RangeMessage(long min, long max, string got) => max == int.MaxValue || max == long.MaxValue
        ? $"must be at least {min}, got {got}"
        : $"must be between {min} and {max}, got {got}";
}
