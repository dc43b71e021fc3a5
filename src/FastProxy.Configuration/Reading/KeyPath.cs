namespace FastProxy.Configuration.Reading;

/// <summary>
/// Key paths as printed in diagnostics, e.g. <c>routes[2].match.host</c> (array indices 0-based).
/// <see cref="Toml.SourceMap"/> is keyed by the same strings, so both sides must build them here.
/// </summary>
internal static class KeyPath
{
    public static string Child(string parent, string key)
    {
        var segment = IsBare(key) ? key : Quote(key);
        return parent.Length == 0 ? segment : parent + "." + segment;
    }

    public static string Index(string parent, int index) => parent + "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";

    /// <summary>The enclosing path, used when a path has no recorded position (best effort: a quoted key holding '.' may split early).</summary>
    public static string? Parent(string path)
    {
        var cut = path.LastIndexOfAny(['.', '[']);
        return cut <= 0 ? null : path[..cut];
    }

    // TOML bare keys: A-Z a-z 0-9 _ -. Anything else was quoted in the file, so quote it back.
    private static bool IsBare(string key)
    {
        if (key.Length == 0) return false;
        foreach (var c in key)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-')) return false;
        }
        return true;
    }

    private static string Quote(string key) => "\"" + key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
