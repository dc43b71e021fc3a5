namespace FastProxy.Configuration.Reading;

/// <summary>Collects every problem instead of stopping at the first: one run of <c>fastproxy check</c> should show them all.</summary>
internal sealed class DiagnosticBag
{
    private readonly List<ConfigDiagnostic> _errors = [];
    private readonly List<ConfigDiagnostic> _warnings = [];

    public bool HasErrors => _errors.Count > 0;

    public void Error(SourceLocation location, string key, string message) => _errors.Add(new ConfigDiagnostic(location, key, message));

    public void Warning(SourceLocation location, string key, string message) => _warnings.Add(new ConfigDiagnostic(location, key, message));

    public IReadOnlyList<ConfigDiagnostic> Errors => InFileOrder(_errors);

    public IReadOnlyList<ConfigDiagnostic> Warnings => InFileOrder(_warnings);

    // Validators run section by section, but people read the file top to bottom.
    // Problems with no position (a missing section) go last. The sort is stable.
    private static List<ConfigDiagnostic> InFileOrder(List<ConfigDiagnostic> list) => list
        .Select((d, i) => (d, i))
        .OrderBy(x => x.d.Location.Line > 0 ? 0 : 1)
        .ThenBy(x => x.d.Location.Line)
        .ThenBy(x => x.d.Location.Column)
        .ThenBy(x => x.i)
        .Select(x => x.d)
        .ToList();
}
