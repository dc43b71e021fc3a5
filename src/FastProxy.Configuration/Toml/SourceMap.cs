using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Toml;

/// <summary>
/// Where each key path stands in the file, recorded by <see cref="TomlModelBuilder"/> as it builds the document,
/// so a path here always names the same entry as in the model (<c>listeners[1].tls[0]</c> is the second listener's
/// first certificate wherever its <c>[[listeners.tls]]</c> header stands). We want errors to point at the
/// offending value (<c>proxy.toml:14:11</c> is the value of <c>upstream = ...</c>).
/// </summary>
internal sealed class SourceMap
{
    private readonly Dictionary<string, (SourceLocation Key, SourceLocation Value)> _entries = new(StringComparer.Ordinal);
    private readonly string _file;

    public SourceMap(string file) => _file = file;

    /// <summary>Where the key itself is written (for a table: its header).</summary>
    public SourceLocation Key(string path) => Find(path).Key;

    /// <summary>Where the value starts (for a table: its header or its '{').</summary>
    public SourceLocation Value(string path) => Find(path).Value;

    /// <summary>Records (or, for a table first named by a longer header and defined later, moves) where <paramref name="path"/> is defined.</summary>
    public void Set(string path, SourceLocation key, SourceLocation value) => _entries[path] = (key, value);

    private (SourceLocation Key, SourceLocation Value) Find(string path)
    {
        for (string? p = path; p is not null; p = KeyPath.Parent(p))
        {
            if (_entries.TryGetValue(p, out var entry)) return entry;
        }
        var file = new SourceLocation(_file, 0, 0);
        return (file, file);
    }
}
