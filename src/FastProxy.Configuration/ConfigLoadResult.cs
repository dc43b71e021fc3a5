using System.Diagnostics.CodeAnalysis;

namespace FastProxy.Configuration;

/// <summary>The outcome of loading proxy.toml: a config, or every problem found (never both).</summary>
public sealed class ConfigLoadResult
{
    internal ConfigLoadResult(ProxyConfig? config, IReadOnlyList<ConfigDiagnostic> errors, IReadOnlyList<ConfigDiagnostic> warnings)
    {
        Config = config;
        Errors = errors;
        Warnings = warnings;
    }

    /// <summary>The validated config; null when there are errors.</summary>
    public ProxyConfig? Config { get; }

    /// <summary>Every problem, in file order; each prints as <c>file:line:col: key: message</c>.</summary>
    public IReadOnlyList<ConfigDiagnostic> Errors { get; }

    /// <summary>Also on <see cref="ProxyConfig.Warnings"/> when loading succeeded.</summary>
    public IReadOnlyList<ConfigDiagnostic> Warnings { get; }

    [MemberNotNullWhen(true, nameof(Config))]
    public bool Success => Config is not null;
}
