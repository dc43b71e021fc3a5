using System.Text.RegularExpressions;
using FastProxy.Configuration;
using FastProxy.Ingress.Model;

namespace FastProxy.Ingress;

/// <summary>Something wrong with one Ingress (it is skipped, or part of it is): reported as a Kubernetes Event on it and logged.</summary>
/// <param name="Skipped">True: the whole Ingress is not served; false: served without the part named.</param>
public sealed record IngressProblem(string IngressKey, string? Uid, string Reason, string Message, bool Skipped);

/// <summary>The configuration to serve, and what was wrong on the way.</summary>
public sealed record TranslationResult(ProxyConfig Config, IReadOnlyList<IngressProblem> Problems, IReadOnlyList<string> ServedIngresses);

/// <summary>
/// Ingress objects to routes, upstreams, certificates and policies on top of the controller's own proxy.toml. Pure
/// apart from writing Secret contents to files (<see cref="SecretFiles"/>): the same state gives the same config.
/// </summary>
/// <remarks>
/// Order of the routes (the router takes the first that matches): rules with an exact host, then wildcard hosts, then
/// rules without a host; within one host the longest path first, Exact before Prefix at equal length; among equal
/// (host, path, type) the oldest Ingress wins and the later ones are reported. Then the defaultBackend of the oldest
/// Ingress that has one, then the proxy.toml's own routes.
/// </remarks>
public sealed partial class IngressTranslator(IngressOptions options, SecretFiles files)
{
    public const string DefaultClassAnnotation = "ingressclass.kubernetes.io/is-default-class";
    public const string LegacyClassAnnotation = "kubernetes.io/ingress.class";

    public TranslationResult Translate(ClusterState state, ProxyConfig baseConfig)
    {
        files.BeginRound();
        var problems = new List<IngressProblem>();
        var served = new List<string>();
        var entries = new List<PathEntry>();
        var upstreams = new Dictionary<string, UpstreamConfig>(StringComparer.Ordinal);
        var policies = new List<PolicyConfig>(baseConfig.Policies);
        var certificates = new List<TlsCertificateConfig>();
        RouteConfig? defaultBackend = null;

        int order = 0;
        foreach (var ingress in Ours(state))
        {
            var key = ingress.Metadata.Key;
            var errors = new List<string>();
            var annotations = IngressAnnotations.Read(ingress, baseConfig, state, files, errors);
            var mine = annotations is null ? [] : CollectPaths(ingress, annotations, order, errors);
            if (annotations is null || errors.Count > 0)
            {
                problems.Add(new IngressProblem(key, ingress.Metadata.Uid, "InvalidIngress", string.Join("; ", errors), Skipped: true));
                continue;
            }
            order++;
            served.Add(key);
            policies.AddRange(annotations.Built);
            var chain = ChainFor(annotations);
            foreach (var entry in mine)
            {
                entry.Upstream = Backend(state, ingress, entry.Backend, annotations, upstreams, problems);
                entry.Policies = chain;
                if (annotations.RewriteFor(key, entry.Path, entry.Exact, entry.Index, errors) is { } rewrite)
                {
                    policies.Add(rewrite);
                    entry.Policies = [.. chain, rewrite.Name];
                }
                entries.Add(entry);
            }
            if (ingress.Spec.DefaultBackend is { } fallback && defaultBackend is null)
            {
                var upstream = Backend(state, ingress, fallback, annotations, upstreams, problems);
                defaultBackend = new RouteConfig
                {
                    Name = $"{key} defaultBackend",
                    Upstream = upstream,
                    Policies = chain,
                    Match = new MatchConfig { PathPrefix = "/" },
                };
            }
            Certificates(state, ingress, certificates, problems);
        }

        var routes = new List<RouteConfig>();
        AddRoutes(entries, routes, problems);
        if (defaultBackend is not null) routes.Add(defaultBackend);
        routes.AddRange(baseConfig.Routes);

        var allUpstreams = new List<UpstreamConfig>(baseConfig.Upstreams);
        allUpstreams.AddRange(upstreams.Values);
        var config = ConfigCopy.With(baseConfig, Listeners(baseConfig, certificates), routes, allUpstreams, policies);
        return new TranslationResult(config, problems, served);
    }

    private static List<string> ChainFor(IngressAnnotations annotations)
    {
        var chain = new List<string>();
        foreach (var policy in annotations.Built) chain.Add(policy.Name);
        chain.AddRange(annotations.NamedPolicies);
        return chain;
    }

    /// <summary>The Ingresses this controller serves, oldest first (then by namespace/name), none being deleted.</summary>
    public List<Model.Ingress> Ours(ClusterState state)
    {
        var ourClasses = new HashSet<string>(StringComparer.Ordinal) { options.IngressClass };
        bool defaultIsOurs = false;
        foreach (var (name, ingressClass) in state.IngressClasses)
        {
            bool ours = string.Equals(ingressClass.Spec.Controller, IngressOptions.ControllerName, StringComparison.Ordinal)
                || string.Equals(name, options.IngressClass, StringComparison.Ordinal);
            if (!ours) continue;
            ourClasses.Add(name);
            if (ingressClass.Metadata.Annotations?.TryGetValue(DefaultClassAnnotation, out var isDefault) == true &&
                string.Equals(isDefault, "true", StringComparison.OrdinalIgnoreCase))
                defaultIsOurs = true;
        }
        var list = new List<Model.Ingress>();
        foreach (var ingress in state.Ingresses.Values)
        {
            if (ingress.Metadata.DeletionTimestamp is not null) continue;
            bool ours;
            if (ingress.Spec.IngressClassName is { } className) ours = ourClasses.Contains(className);
            else if (ingress.Metadata.Annotations?.TryGetValue(LegacyClassAnnotation, out var legacy) == true) ours = ourClasses.Contains(legacy);
            else ours = defaultIsOurs;
            if (ours) list.Add(ingress);
        }
        list.Sort(static (a, b) =>
        {
            int byAge = Nullable.Compare(a.Metadata.CreationTimestamp, b.Metadata.CreationTimestamp);
            return byAge != 0 ? byAge : string.CompareOrdinal(a.Metadata.Key, b.Metadata.Key);
        });
        return list;
    }

    /// <summary>One path of one rule, before ordering.</summary>
    private sealed class PathEntry
    {
        public required string IngressKey;
        public required int Order;
        public required int Index;
        /// <summary>Lower-cased; null: any host.</summary>
        public string? Host;
        /// <summary>As written, except Prefix paths lose their trailing slashes ("/" stays "/").</summary>
        public required string Path;
        public required bool Exact;
        public required IngressBackend Backend;
        public string? Upstream;
        public List<string> Policies = [];

        public int HostRank => Host is null ? 2 : Host.StartsWith("*.", StringComparison.Ordinal) ? 1 : 0;
    }

    private static List<PathEntry> CollectPaths(Model.Ingress ingress, IngressAnnotations annotations, int order, List<string> errors)
    {
        var list = new List<PathEntry>();
        var rules = ingress.Spec.Rules ?? [];
        int index = 0;
        for (int r = 0; r < rules.Count; r++)
        {
            var rule = rules[r];
            string? host = null;
            if (!string.IsNullOrEmpty(rule.Host))
            {
                host = rule.Host.ToLowerInvariant();
                if (!HostPattern().IsMatch(host))
                {
                    errors.Add($"spec.rules[{r}].host: \"{IngressAnnotations.Shown(rule.Host)}\" is not a DNS name or a \"*.\" wildcard of one");
                    continue;
                }
            }
            var paths = rule.Http?.Paths ?? [];
            for (int p = 0; p < paths.Count; p++)
            {
                var path = paths[p];
                var at = $"spec.rules[{r}].http.paths[{p}]";
                string type = path.PathType ?? "";
                bool exact;
                switch (type)
                {
                    case "Exact": exact = true; break;
                    case "Prefix" or "ImplementationSpecific": exact = false; break;
                    default:
                        errors.Add($"{at}.pathType: \"{IngressAnnotations.Shown(type)}\" (use Exact, Prefix or ImplementationSpecific)");
                        continue;
                }
                var text = string.IsNullOrEmpty(path.Path) ? "/" : path.Path;
                if (!PathPattern().IsMatch(text))
                {
                    errors.Add($"{at}.path: \"{IngressAnnotations.Shown(text)}\" is not a path (it starts with '/'; regular expressions are not supported)");
                    continue;
                }
                if (path.Backend.Service is null)
                {
                    errors.Add($"{at}.backend: only service backends are served (resource backends are not)");
                    continue;
                }
                if (!exact && text.Length > 1) text = text.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/";
                list.Add(new PathEntry
                {
                    IngressKey = ingress.Metadata.Key, Order = order, Index = index++, Host = host, Path = text, Exact = exact,
                    Backend = path.Backend,
                });
            }
        }
        if (ingress.Spec.DefaultBackend is { Service: null }) errors.Add("spec.defaultBackend: only service backends are served");
        if (list.Count == 0 && ingress.Spec.DefaultBackend is null && errors.Count == 0) errors.Add("no rules with paths and no defaultBackend");
        return list;
    }

    /// <summary>Sorts the paths (see the class remarks) and makes their routes; a Prefix path is two routes (see below).</summary>
    private static void AddRoutes(List<PathEntry> entries, List<RouteConfig> routes, List<IngressProblem> problems)
    {
        entries.Sort(static (a, b) =>
        {
            int c = a.HostRank.CompareTo(b.HostRank);
            if (c == 0) c = string.CompareOrdinal(a.Host, b.Host);
            if (c == 0) c = b.Path.Length.CompareTo(a.Path.Length);
            if (c == 0) c = b.Exact.CompareTo(a.Exact);
            if (c == 0) c = string.CompareOrdinal(a.Path, b.Path);
            if (c == 0) c = a.Order.CompareTo(b.Order);
            if (c == 0) c = a.Index.CompareTo(b.Index);
            return c;
        });
        PathEntry? previous = null;
        foreach (var entry in entries)
        {
            if (previous is not null && previous.Host == entry.Host && previous.Path == entry.Path && previous.Exact == entry.Exact)
            {
                if (previous.IngressKey != entry.IngressKey)
                    problems.Add(new IngressProblem(entry.IngressKey, null, "PathConflict",
                        $"{entry.Host ?? "*"}{entry.Path} ({(entry.Exact ? "Exact" : "Prefix")}) is already served by the older Ingress {previous.IngressKey}", Skipped: false));
                continue;
            }
            previous = entry;
            // Route names are unique, as in proxy.toml: an Exact and a Prefix path of one Ingress may be the same text.
            var name = $"{entry.IngressKey} {entry.Host ?? "*"}{entry.Path}{(entry.Exact ? " (exact)" : "")}";
            bool wildcard = entry.HostRank == 1;
            if (entry.Exact || entry.Path == "/")
            {
                routes.Add(Route(name, entry, entry.Exact ? new MatchConfig { Host = entry.Host, WildcardOneLabel = wildcard, Path = entry.Path }
                                                         : new MatchConfig { Host = entry.Host, WildcardOneLabel = wildcard, PathPrefix = "/" }));
                continue;
            }
            // Prefix "/foo" matches by path element: "/foo" itself and everything under "/foo/", not "/foobar".
            routes.Add(Route(name, entry, new MatchConfig { Host = entry.Host, WildcardOneLabel = wildcard, Path = entry.Path }));
            routes.Add(Route(name + "/", entry, new MatchConfig { Host = entry.Host, WildcardOneLabel = wildcard, PathPrefix = entry.Path + "/" }));
        }
    }

    private static RouteConfig Route(string name, PathEntry entry, MatchConfig match) => new()
    {
        Name = name,
        Upstream = entry.Upstream,
        Policies = entry.Policies,
        Match = match,
    };

    /// <summary>Lower-case DNS name, or "*." and one; no port, no trailing dot.</summary>
    [GeneratedRegex(@"^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")]
    internal static partial Regex HostPattern();

    /// <summary>An absolute path of URL path characters (RFC 3986 pchar and '/'), no query, no regex syntax beyond those.</summary>
    [GeneratedRegex(@"^/[A-Za-z0-9\-._~/%!$&'()*+,;=:@]{0,2047}$")]
    private static partial Regex PathPattern();
}
