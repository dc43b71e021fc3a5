using System.Text.RegularExpressions;

namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "rewrite": the path the upstream receives, by a regular expression on the request's path
/// (normal form, with its escapes) and a replacement with $N / ${name} captures; and query parameters set or removed.
/// </summary>
public sealed class RewriteOptions : PolicyOptions
{
    /// <summary>Compiled once at load (Validation.PathRegex); null: the path is left alone.</summary>
    public Regex? Pattern { get; init; }
    /// <summary>The replacement as written ($N, ${name}, $$ only; checked against the pattern's groups).</summary>
    public string? Replacement { get; init; }
    /// <summary>The replacement uses a capture group (else it is copied as it is, with $$ already made '$').</summary>
    public bool ReplacementHasGroups { get; init; }
    /// <summary>Parameters to set on the upstream's query: name to value template.</summary>
    public IReadOnlyList<KeyValuePair<string, HeaderTemplate>> QuerySet { get; init; } = [];
    /// <summary>Parameters to drop from the upstream's query.</summary>
    public IReadOnlyList<string> QueryRemove { get; init; } = [];
}
