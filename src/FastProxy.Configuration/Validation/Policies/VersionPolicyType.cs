using System.Globalization;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;
using Tomlyn;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "version": where the API version is read (from), the upstream of each version (versions), the version of a
/// request that names none (default), and the versions announced as deprecated (Deprecation and Sunset headers).
/// </summary>
internal sealed class VersionPolicyType : IPolicyType
{
    public string Name => "version";

    public IReadOnlyList<string> Keys { get; } = ["from", "versions", "default", "deprecated", "strip", "vary"];

    public bool PicksUpstream => true;

    private static readonly string[] VersionKeys = ["upstream", "path_prefix"];
    private static readonly string[] DeprecationKeys = ["deprecation", "sunset", "link"];

    /// <summary>Longer version names are refused: a version is a short label (v2, 2024-06-01, beta).</summary>
    public const int MaxVersionLength = 64;

    public PolicyOptions? Read(TableReader policy)
    {
        var (from, fromName) = ReadFrom(policy);

        var versions = new List<ApiVersion>();
        var table = policy.Table("versions", keys: null);
        if (!policy.Has("versions"))
        {
            policy.TableError("missing required key \"versions\" (e.g. versions = { v1 = \"api-v1\", v2 = \"api-v2\" }: each version and its upstream)");
        }
        else if (table is not null)
        {
            foreach (var (name, value) in table.Entries)
            {
                var path = table.PathOf(name);
                if (VersionNameProblem(name) is { } problem)
                {
                    policy.Context.ErrorAtKey(path, problem);
                    continue;
                }
                if (versions.Exists(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase)))
                {
                    policy.Context.ErrorAtKey(path, $"version \"{name}\" given twice (versions are compared case-insensitively)");
                    continue;
                }
                if (ReadVersion(policy.Context, name, value, path, from) is { } version) versions.Add(version);
            }
            if (table.Entries.Any() is false) policy.Error("versions", "must name at least one version and its upstream");
        }

        var defaultVersion = policy.String("default");
        if (defaultVersion is not null && table is not null && !versions.Exists(v => string.Equals(v.Name, defaultVersion, StringComparison.OrdinalIgnoreCase)))
        {
            policy.Error("default", $"\"{defaultVersion}\" is not one of the versions (known: {Suggestions.KnownList(versions.Select(v => v.Name))})");
        }

        ReadDeprecated(policy, versions);

        bool strip = policy.Bool("strip") ?? true;
        if (policy.Has("strip") && from != VersionSource.Path) policy.Error("strip", "only applies to from = \"path\" (the version segment of the path)");
        bool vary = policy.Bool("vary") ?? true;
        if (policy.Has("vary") && from is VersionSource.Path or VersionSource.Query)
        {
            policy.Error("vary", "only applies to from = \"header:NAME\" and \"accept\" (the path and query are part of the URL caches key on)");
        }

        return new VersionOptions
        {
            From = from,
            FromName = fromName,
            Strip = strip,
            Versions = versions,
            Default = versions.Find(v => string.Equals(v.Name, defaultVersion, StringComparison.OrdinalIgnoreCase))?.Name,
            Vary = vary,
        };
    }

    private static (VersionSource, string?) ReadFrom(TableReader policy)
    {
        var text = policy.String("from");
        switch (text)
        {
            case null or "path": return (VersionSource.Path, null);
            case "accept": return (VersionSource.Accept, null);
        }
        int colon = text.IndexOf(':');
        var kind = colon < 0 ? text : text[..colon];
        var name = colon < 0 ? "" : text[(colon + 1)..];
        if (kind is "header" or "query")
        {
            if (name.Length == 0)
            {
                policy.Error("from", $"name the {kind}: \"{kind}:{(kind == "header" ? "api-version" : "version")}\"");
            }
            else if (kind == "header" && !HttpSyntax.IsToken(name))
            {
                policy.Error("from", $"\"{name}\" is not a header name (letters, digits and !#$%&'*+-.^_`|~)");
            }
            else if (kind == "query" && name.AsSpan().IndexOfAny("&=#? ") >= 0)
            {
                policy.Error("from", $"\"{name}\" is not a query parameter name");
            }
            return (kind == "header" ? VersionSource.Header : VersionSource.Query, kind == "header" ? name.ToLowerInvariant() : name);
        }
        policy.Error("from", $"unknown version source \"{text}\" (known: \"path\", \"header:NAME\", \"accept\", \"query:NAME\")");
        return (VersionSource.Path, null);
    }

    /// <summary>A version is matched against a path segment, a header value, a media type part or a query value: letters, digits and -._~ only.</summary>
    private static string? VersionNameProblem(string name)
    {
        if (name.Length == 0) return "a version name must not be empty";
        if (name.Length > MaxVersionLength) return $"a version name is at most {MaxVersionLength} characters";
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'))
            {
                return $"version \"{name}\": use letters, digits and - . _ ~ only (it is matched against a path segment, a header, a media type or a query value)";
            }
        }
        return null;
    }

    private static ApiVersion? ReadVersion(LoadContext context, string name, object value, string path, VersionSource from)
    {
        switch (value)
        {
            case string upstream when upstream.Length > 0:
                return new ApiVersion { Name = name, Upstream = upstream, KeyPath = path };
            case string:
                context.Error(path, "must name an upstream");
                return null;
            case TomlTable table:
                var reader = new TableReader(context, table, path, VersionKeys);
                var upstreamName = reader.RequiredString("upstream");
                var prefix = reader.String("path_prefix");
                if (prefix is not null)
                {
                    if (HttpSyntax.PathProblem(prefix) is { } problem) reader.Error("path_prefix", problem);
                    else if (prefix.EndsWith('/') && prefix.Length > 1) reader.Error("path_prefix", $"leave out the trailing '/': the rest of the path starts with one (\"{prefix.TrimEnd('/')}\")");
                    else if (prefix == "/") prefix = null;
                }
                if (upstreamName is null) return null;
                return new ApiVersion { Name = name, Upstream = upstreamName, PathPrefix = prefix, KeyPath = KeyPath.Child(path, "upstream") };
            default:
                context.Error(path, $"expected an upstream name or {{ upstream = \"NAME\", path_prefix = \"/...\" }}, got {TomlTypeNames.Of(value)}");
                return null;
        }
    }

    /// <summary>deprecated = { v1 = "2027-06-30" } (deprecated and sunset that day) or { v1 = { deprecation = DATE, sunset = DATE, link = URL } }.</summary>
    private static void ReadDeprecated(TableReader policy, List<ApiVersion> versions)
    {
        var table = policy.Table("deprecated", keys: null);
        if (table is null) return;
        var context = policy.Context;
        foreach (var (name, value) in table.Entries)
        {
            var path = table.PathOf(name);
            int index = versions.FindIndex(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                context.ErrorAtKey(path, $"\"{name}\" is not one of the versions (known: {Suggestions.KnownList(versions.Select(v => v.Name))})");
                continue;
            }
            DateTimeOffset? deprecation = null, sunset = null;
            string? link = null;
            if (value is TomlTable entry)
            {
                var reader = new TableReader(context, entry, path, DeprecationKeys);
                deprecation = ReadDate(context, reader.Raw("deprecation"), reader.PathOf("deprecation"));
                sunset = ReadDate(context, reader.Raw("sunset"), reader.PathOf("sunset"));
                link = reader.String("link");
                if (link is not null && (!Uri.TryCreate(link, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || HttpSyntax.FieldValueProblem(link) is not null || link.Contains('>')))
                {
                    reader.Error("link", $"\"{link}\" is not an http(s) URL");
                    link = null;
                }
                if (!reader.Has("deprecation") && !reader.Has("sunset")) reader.TableError("give deprecation = DATE, sunset = DATE or both");
                if (!reader.Has("deprecation") && sunset is not null) deprecation = sunset;
                if (deprecation is { } d && sunset is { } s && s < d)
                {
                    // RFC 9745 §3: the Sunset date must not be earlier than the Deprecation date.
                    reader.Error("sunset", "must not be earlier than the deprecation date (RFC 9745)");
                }
            }
            else
            {
                deprecation = sunset = ReadDate(context, value, path);
            }
            var v = versions[index];
            versions[index] = new ApiVersion
            {
                Name = v.Name, Upstream = v.Upstream, PathPrefix = v.PathPrefix, KeyPath = v.KeyPath,
                Deprecation = deprecation, Sunset = sunset, Link = link,
            };
        }
    }

    private static readonly string[] DateFormats = ["yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss'Z'"];

    /// <summary>"2027-06-30" (midnight UTC), an RFC 3339 time with its offset, or a TOML date.</summary>
    private static DateTimeOffset? ReadDate(LoadContext context, object? value, string path)
    {
        switch (value)
        {
            case null:
                return null;
            case string text when DateTimeOffset.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed):
                return parsed;
            case TomlDateTime date:
                var dt = date.DateTime;
                return date.Kind is TomlDateTimeKind.OffsetDateTimeByZ or TomlDateTimeKind.OffsetDateTimeByNumber
                    ? dt.ToUniversalTime()
                    : new DateTimeOffset(DateTime.SpecifyKind(dt.DateTime, DateTimeKind.Utc));
            default:
                context.Error(path, "expected a date such as \"2027-06-30\" (midnight UTC) or \"2027-06-30T12:00:00Z\"");
                return null;
        }
    }
}
