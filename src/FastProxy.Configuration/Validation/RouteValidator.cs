using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// One [[routes]] entry on its own. What it refers to (upstreams, listeners, policies) is checked
/// by <see cref="RouteReferenceValidator"/> once every section has been read.
/// </summary>
internal static class RouteValidator
{
    public static readonly string[] Keys = ["name", "listeners", "upstream", "respond", "strip_prefix", "grpc_web", "static", "policies", "match"];

    /// <summary>Match conditions written on the route itself: a common slip, so say where they go.</summary>
    public static readonly IReadOnlyDictionary<string, string> Misplaced =
        MatchValidator.Keys.ToDictionary(k => k, _ => "[routes.match]", StringComparer.Ordinal);

    public static RouteConfig Read(TableReader table, int index)
    {
        var name = table.Has("name") ? table.RequiredString("name") : null;

        List<string>? listeners = null;
        if (table.Strings("listeners") is { } names)
        {
            listeners = names.Select(n => n.Value).ToList();
            if (names.Count == 0) table.Error("listeners", "must not be empty: leave it out to use every http listener");
        }

        var upstream = table.Has("upstream") ? table.RequiredString("upstream") : null;
        var respond = RespondValidator.Read(table.Table("respond", RespondValidator.Keys));
        if (table.Has("upstream") && table.Has("respond"))
        {
            table.Context.ErrorAtKey(table.PathOf("respond"), "give either upstream or respond, not both");
        }
        var staticFiles = StaticValidator.Read(table.Table("static", StaticValidator.Keys));
        if (staticFiles is not null && (table.Has("upstream") || table.Has("respond")))
        {
            table.Context.ErrorAtKey(table.PathOf("static"), $"give either static or {(table.Has("upstream") ? "upstream" : "respond")}, not both (a static route answers from its files)");
        }
        // Neither: allowed when the route's chain always answers (mock) or picks the upstream (version); see PolicyUpstreamValidator.

        var stripPrefix = table.String("strip_prefix");
        if (stripPrefix is not null && HttpSyntax.PathProblem(stripPrefix) is { } problem)
        {
            table.Error("strip_prefix", problem);
        }

        return new RouteConfig
        {
            Name = name ?? KeyPath.Index("routes", index),
            Listeners = listeners,
            Upstream = upstream,
            Respond = respond,
            StripPrefix = stripPrefix,
            GrpcWeb = table.Bool("grpc_web") ?? false,
            Static = staticFiles,
            Policies = table.Strings("policies")?.Select(p => p.Value).ToList() ?? [],
            Match = MatchValidator.Read(table.Table("match", MatchValidator.Keys)),
            Location = table.Context.Map.Value(table.Path),
        };
    }
}
