namespace FastProxy.Configuration;

/// <summary>
/// A route's <c>static = { root = "public", index = "index.html", precompressed = true }</c>: the route answers GET and
/// HEAD from files under <see cref="Root"/> (src/FastProxy/StaticFiles). Nothing outside the root is ever served.
/// </summary>
public sealed class StaticConfig
{
    /// <summary>Absolute path of the directory served, resolved against the config file's directory; checked to exist at load.</summary>
    public required string Root { get; init; }
    /// <summary>The file served for a directory's path (ending in '/'); empty: none (a directory is 404).</summary>
    public string Index { get; init; } = "index.html";
    /// <summary>Serve "x.br" / "x.gz" siblings of "x" to clients whose Accept-Encoding takes them.</summary>
    public bool Precompressed { get; init; }
    /// <summary>Serve files and directories whose name starts with '.'; false (the default): 404.</summary>
    public bool Dotfiles { get; init; }
    /// <summary>types = { "ext" = "media/type" }: extension (lower case, no dot) to Content-Type, over the built-in table.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Types { get; init; } = [];
}
