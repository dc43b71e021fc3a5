using System.Text;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "aggregate": <c>parts = [{ name, upstream, path, method, headers, timeout }]</c>, <c>timeout</c>,
/// <c>partial</c>, <c>max_part_body</c>. Part names are unique (they are the answer's members); paths are templates
/// whose values are percent-encoded when expanded; every part's upstream must exist (checked with the other
/// references, <see cref="CheckReferences"/>).
/// </summary>
internal sealed class AggregatePolicyType : IPolicyType
{
    public static readonly string[] PartKeys = ["name", "upstream", "path", "method", "headers", "timeout"];

    /// <summary>An aggregate fans out to a few services; a list this long is a mistake, and each part costs a connection.</summary>
    public const int MaxParts = 32;

    /// <summary>A part's body is held whole until the answer is written: beyond this it does not belong in one JSON answer.</summary>
    public const long MaxPartBodyLimit = 64L * 1024 * 1024;

    /// <summary>Methods a part may use: no body is sent (Content-Length: 0 where one is expected), and the answer must have one (no HEAD).</summary>
    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    /// <summary>Fields that belong to the part's own message, or that the proxy writes itself.</summary>
    private static readonly string[] NotCopied =
        ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "host", "expect",
         "x-request-id", "traceparent", "x-forwarded-for", "forwarded"];

    public string Name => "aggregate";

    public IReadOnlyList<string> Keys { get; } = ["parts", "timeout", "partial", "max_part_body"];

    /// <summary>Answers every request itself: a route with only this policy needs no upstream of its own.</summary>
    public bool AlwaysAnswers => true;

    public PolicyOptions? Read(TableReader policy)
    {
        var timeout = policy.Duration("timeout") ?? AggregateOptions.DefaultTimeout;
        var partial = policy.Choice("partial", "partial mode", [("omit", AggregatePartial.Omit), ("fail", AggregatePartial.Fail)]) ?? AggregatePartial.Omit;
        var maxBody = policy.Size("max_part_body", MaxPartBodyLimit) ?? AggregateOptions.DefaultMaxPartBody;
        if (!policy.Has("parts"))
        {
            policy.Missing("parts");
            return null;
        }
        var tables = policy.Tables("parts", PartKeys);
        if (tables is null) return null;
        if (tables.Count == 0)
        {
            policy.Error("parts", "needs at least one part, e.g. [{ name = \"user\", upstream = \"users\", path = \"/users/{header.x-user}\" }]");
            return null;
        }
        if (tables.Count > MaxParts)
        {
            policy.Error("parts", $"at most {MaxParts} parts, got {tables.Count}");
            return null;
        }
        var parts = new List<AggregatePart>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        bool ok = true;
        foreach (var table in tables)
        {
            var part = ReadPart(table);
            if (part is null)
            {
                ok = false;
                continue;
            }
            if (!names.Add(part.Name))
            {
                table.Error("name", $"part \"{part.Name}\" is named twice: each part is one member of the answer");
                ok = false;
                continue;
            }
            parts.Add(part);
        }
        if (!ok) return null;
        return new AggregateOptions { Parts = parts, Timeout = timeout, Partial = partial, MaxPartBody = maxBody };
    }

    private static AggregatePart? ReadPart(TableReader part)
    {
        // RequiredString refuses an empty string: a member needs a name.
        var name = part.RequiredString("name");
        var upstream = part.RequiredString("upstream");
        var pathText = part.RequiredString("path");
        PathTemplate? path = null;
        if (pathText is not null)
        {
            path = ParsePath(pathText, out var problem);
            if (path is null) part.Error("path", problem!);
        }
        var method = part.String("method") ?? "GET";
        if (Array.IndexOf(Methods, method) < 0)
        {
            part.Error("method", $"unknown or unsupported method \"{method}\" (known: {string.Join(", ", Methods)}){Suggestions.DidYouMean(method.ToUpperInvariant(), Methods)}");
            method = "GET";
        }
        var timeout = part.Duration("timeout");
        var headers = new List<string>();
        foreach (var (header, at) in part.Strings("headers") ?? [])
        {
            var lower = header.ToLowerInvariant();
            if (!HttpSyntax.IsToken(header)) part.Context.Error(at, $"invalid header name \"{header}\": expected letters, digits and !#$%&'*+-.^_`|~");
            else if (lower == "accept-encoding") part.Context.Error(at, "accept-encoding is not copied: a part's body must come unencoded to be merged");
            else if (Array.IndexOf(NotCopied, lower) >= 0) part.Context.Error(at, $"{lower} is written by the proxy for the part's own request, not copied from the client's");
            else if (headers.Contains(lower)) part.Context.Error(at, $"header \"{header}\" listed twice (names are case-insensitive)");
            else headers.Add(lower);
        }
        if (name is null || upstream is null || path is null) return null;
        return new AggregatePart
        {
            Name = name,
            Upstream = upstream,
            UpstreamKeyPath = part.PathOf("upstream"),
            Path = path,
            Method = method,
            Headers = headers,
            Timeout = timeout,
        };
    }

    /// <summary>
    /// "/users/{header.x-user}/orders?limit={query.limit}": literal text as it goes on the wire (ASCII, no spaces,
    /// controls or '#'), variables in braces, <c>{{</c> for a literal '{'. Null with the problem when it is unusable.
    /// </summary>
    public static PathTemplate? ParsePath(string text, out string? problem)
    {
        if (!text.StartsWith('/'))
        {
            problem = $"must start with '/', e.g. \"/{text}\"";
            return null;
        }
        var segments = TemplateText.Split(text, out problem);
        if (segments is null) return null;
        var parts = new List<PathTemplatePart>();
        foreach (var (segment, isVariable) in segments)
        {
            if (isVariable)
            {
                var variable = Variable(segment, out problem);
                if (variable is null) return null;
                parts.Add(variable.Value);
                continue;
            }
            foreach (char c in segment)
            {
                if (LiteralProblem(c) is { } bad)
                {
                    problem = bad;
                    return null;
                }
            }
            parts.Add(new PathTemplatePart(PathVariable.Literal, segment));
        }
        problem = null;
        return new PathTemplate(text, parts);
    }

    private static string? LiteralProblem(char c) => c switch
    {
        ' ' => "must not contain spaces (percent-encode them as %20)",
        '#' => "must not contain '#': fragments are never sent to a server",
        _ when char.IsControl(c) => "must not contain control characters",
        _ when c > '\x7e' => "must be ASCII (percent-encode other characters)",
        _ => null,
    };

    private static PathTemplatePart? Variable(string inside, out string? problem)
    {
        problem = null;
        if (inside == "path") return new PathTemplatePart(PathVariable.Path, "");
        if (inside.StartsWith("query.", StringComparison.Ordinal))
        {
            var name = inside["query.".Length..];
            if (name.Length == 0 || !name.All(ch => ch > ' ' && ch < '\x7f' && ch is not '&' and not '=' and not '#'))
            {
                problem = $"{{{inside}}}: a query parameter name is visible ASCII without '&', '=' or '#', e.g. {{query.page}}";
                return null;
            }
            return new PathTemplatePart(PathVariable.Query, name);
        }
        // The header templates' variables, with their checks and messages.
        var template = HeaderTemplates.Parse("{" + inside + "}", out problem);
        if (template is null)
        {
            problem += "; a path also knows {query.NAME} and {path}";
            return null;
        }
        var only = template.Parts[0];
        return new PathTemplatePart(only.Variable switch
        {
            TemplateVariable.ClientIp => PathVariable.ClientIp,
            TemplateVariable.Consumer => PathVariable.Consumer,
            TemplateVariable.RequestId => PathVariable.RequestId,
            TemplateVariable.Claim => PathVariable.Claim,
            _ => PathVariable.Header,
        }, only.Text);
    }

    /// <summary>Every part names an [upstreams.NAME] that exists (sections come in any order, so this runs after all are read).</summary>
    public static void CheckReferences(LoadContext context, IReadOnlyList<PolicyConfig> policies, IReadOnlyList<UpstreamConfig> upstreams)
    {
        foreach (var policy in policies)
        {
            if (policy.Options is not AggregateOptions aggregate) continue;
            foreach (var part in aggregate.Parts)
            {
                if (upstreams.Any(u => string.Equals(u.Name, part.Upstream, StringComparison.Ordinal))) continue;
                var names = upstreams.Select(u => u.Name).ToList();
                context.Error(part.UpstreamKeyPath,
                    $"no upstream named \"{part.Upstream}\"{Suggestions.DidYouMean(part.Upstream, names)} (known: {Suggestions.KnownList(names)})");
            }
        }
    }
}
