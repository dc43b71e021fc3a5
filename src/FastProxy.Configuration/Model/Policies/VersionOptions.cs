using FastProxy.Configuration.Validation;

namespace FastProxy.Configuration;

/// <summary>Where the version policy reads the API version a request asks for.</summary>
public enum VersionSource : byte
{
    /// <summary>The path's first segment: /v2/users asks for v2.</summary>
    Path = 0,
    /// <summary>A request field ("header:api-version").</summary>
    Header,
    /// <summary>The Accept media type: application/vnd.NAME.v2+json asks for v2.</summary>
    Accept,
    /// <summary>A query parameter ("query:version").</summary>
    Query,
}

/// <summary>One version a request may ask for, and where it goes.</summary>
public sealed class ApiVersion
{
    public required string Name { get; init; }
    public required string Upstream { get; init; }
    /// <summary>Put in front of the path the upstream receives (after the version segment is stripped); null: none.</summary>
    public string? PathPrefix { get; init; }
    /// <summary>RFC 9745 Deprecation: when the version is (or will be) deprecated; null: not deprecated.</summary>
    public DateTimeOffset? Deprecation { get; init; }
    /// <summary>RFC 8594 Sunset: when the version stops answering; null: none announced.</summary>
    public DateTimeOffset? Sunset { get; init; }
    /// <summary>A page about the deprecation (Link: &lt;URL&gt;; rel="deprecation"); null: none.</summary>
    public string? Link { get; init; }
    /// <summary>The key path of the version's entry, for errors found later (an upstream that does not exist).</summary>
    public string KeyPath { get; init; } = "";
}

/// <summary>
/// [policies.NAME] type = "version": reads the API version a request asks for (path segment, header, Accept media
/// type or query parameter) and sends the request to that version's upstream; unknown versions are refused with 400.
/// </summary>
public sealed class VersionOptions : PolicyOptions, IUpstreamReferences
{
    IEnumerable<(string Upstream, string KeyPath)> IUpstreamReferences.UpstreamReferences => Versions.Select(v => (v.Upstream, v.KeyPath));

    public VersionSource From { get; init; } = VersionSource.Path;
    /// <summary>The header or query parameter name for <see cref="VersionSource.Header"/> and <see cref="VersionSource.Query"/>.</summary>
    public string? FromName { get; init; }
    /// <summary>from = "path": the version segment is removed from the path the upstream receives.</summary>
    public bool Strip { get; init; } = true;
    /// <summary>In file order.</summary>
    public IReadOnlyList<ApiVersion> Versions { get; init; } = [];
    /// <summary>The version of a request that names none; null: such requests are refused with 400.</summary>
    public string? Default { get; init; }
    /// <summary>Vary: the header (or Accept) on every answer, for caches: header and accept selectors only.</summary>
    public bool Vary { get; init; } = true;
}
