using System.Text.RegularExpressions;
using FastProxy.Configuration;
using FastProxy.Configuration.Validation;

namespace FastProxy.Ingress;

/// <summary>
/// The fastproxy.io/ annotations of one Ingress, each parsed and checked on its own. A value is never pasted into
/// configuration text (CVE-2025-1974 came from that in ingress-nginx): names are checked against what exists, and
/// policies are built from typed values by the same validators as proxy.toml (<see cref="PolicyValues"/>).
/// </summary>
internal sealed partial class IngressAnnotations
{
    public const string Prefix = "fastproxy.io/";
    public const string Policies = Prefix + "policies";
    public const string AuthBasicSecret = Prefix + "auth-basic-secret";
    public const string AuthRealm = Prefix + "auth-realm";
    public const string RateLimit = Prefix + "rate-limit";
    public const string CorsOrigins = Prefix + "cors-origins";
    public const string RewriteTarget = Prefix + "rewrite-target";
    public const string BackendProtocol = Prefix + "backend-protocol";

    /// <summary>Every annotation read; any other under fastproxy.io/ is refused (a typo must not silently do nothing).</summary>
    public static readonly string[] Known = [Policies, AuthBasicSecret, AuthRealm, RateLimit, CorsOrigins, RewriteTarget, BackendProtocol];

    /// <summary>Existing [policies.NAME] from the controller's proxy.toml, in order.</summary>
    public List<string> NamedPolicies { get; } = [];

    /// <summary>Policies built for this Ingress (named "ingress:NS/NAME:KIND"), in the order they run.</summary>
    public List<PolicyConfig> Built { get; } = [];

    /// <summary>The path the upstream receives instead of the matched one; null: unchanged.</summary>
    public string? RewriteTargetPath { get; private set; }

    public UpstreamProtocol Protocol { get; private set; } = UpstreamProtocol.Http1;
    public bool Tls { get; private set; }

    /// <summary>The protocol's suffix for upstream names ("" for HTTP/1.1 in clear).</summary>
    public string ProtocolSuffix => (Protocol, Tls) switch
    {
        (UpstreamProtocol.H2c, _) => "/h2c",
        (UpstreamProtocol.H2, _) => "/h2",
        (_, true) => "/https",
        _ => "",
    };

    /// <summary>Reads the annotations; null with <paramref name="errors"/> filled when any is invalid.</summary>
    public static IngressAnnotations? Read(Model.Ingress ingress, ProxyConfig baseConfig, ClusterState state, SecretFiles files, List<string> errors)
    {
        var result = new IngressAnnotations();
        var annotations = ingress.Metadata.Annotations;
        if (annotations is null) return result;
        string owner = ingress.Metadata.Key;
        foreach (var (name, _) in annotations)
        {
            if (name.StartsWith(Prefix, StringComparison.Ordinal) && Array.IndexOf(Known, name) < 0)
                errors.Add($"unknown annotation {name} (known: {string.Join(", ", Known)})");
        }

        if (annotations.TryGetValue(BackendProtocol, out var protocol)) result.ReadProtocol(protocol.Trim(), errors);
        // CORS first: a preflight is answered before authentication asks for credentials.
        if (annotations.TryGetValue(CorsOrigins, out var origins)) result.ReadCors(owner, origins, errors);
        if (annotations.TryGetValue(AuthBasicSecret, out var secretName))
        {
            annotations.TryGetValue(AuthRealm, out var realm);
            result.ReadBasicAuth(ingress, secretName.Trim(), realm, state, files, errors);
        }
        else if (annotations.ContainsKey(AuthRealm))
        {
            errors.Add($"{AuthRealm} without {AuthBasicSecret}");
        }
        if (annotations.TryGetValue(RateLimit, out var rate)) result.ReadRateLimit(owner, rate.Trim(), errors);
        if (annotations.TryGetValue(Policies, out var policies)) result.ReadNamedPolicies(policies, baseConfig, errors);
        if (annotations.TryGetValue(RewriteTarget, out var target)) result.ReadRewriteTarget(target.Trim(), errors);
        return errors.Count == 0 ? result : null;
    }

    private void ReadProtocol(string value, List<string> errors)
    {
        switch (value.ToLowerInvariant())
        {
            case "http" or "http1":
                break;
            case "h2c" or "grpc":
                Protocol = UpstreamProtocol.H2c;
                break;
            case "h2" or "grpcs":
                Protocol = UpstreamProtocol.H2;
                Tls = true;
                break;
            case "https":
                Tls = true;
                break;
            default:
                errors.Add($"{BackendProtocol}: \"{Shown(value)}\" is not a backend protocol (use http, https, h2c or h2)");
                break;
        }
    }

    private void ReadCors(string owner, string value, List<string> errors)
    {
        var origins = SplitList(value);
        if (origins.Count == 0)
        {
            errors.Add($"{CorsOrigins}: empty (write origins separated by commas, e.g. \"https://app.example.com, https://*.example.com\")");
            return;
        }
        Build("cors", owner, [new("origins", origins)], CorsOrigins, errors);
    }

    private void ReadBasicAuth(Model.Ingress ingress, string secretName, string? realm, ClusterState state, SecretFiles files, List<string> errors)
    {
        // The Secret must be in the Ingress's own namespace: an Ingress author must not be able to read another
        // namespace's Secrets through the controller.
        if (!DnsLabel().IsMatch(secretName))
        {
            errors.Add($"{AuthBasicSecret}: \"{Shown(secretName)}\" is not a Secret name in the Ingress's namespace");
            return;
        }
        var key = $"{ingress.Metadata.Namespace}/{secretName}";
        if (!state.Secrets.TryGetValue(key, out var secret))
        {
            errors.Add($"{AuthBasicSecret}: no Secret {key}");
            return;
        }
        if (secret.Data is null || !secret.Data.TryGetValue("auth", out var htpasswd) || htpasswd.Length == 0)
        {
            errors.Add($"{AuthBasicSecret}: Secret {key} has no data \"auth\" (an htpasswd list: kubectl create secret generic NAME --from-file=auth)");
            return;
        }
        var path = files.Write(htpasswd, ".htpasswd");
        var values = new List<KeyValuePair<string, object>> { new("htpasswd", path) };
        if (realm is not null) values.Add(new("realm", realm));
        Build("basic_auth", ingress.Metadata.Key, values, AuthBasicSecret, errors);
    }

    private void ReadRateLimit(string owner, string value, List<string> errors)
        => Build("rate_limit", owner, [new("rate", value)], RateLimit, errors);

    private void ReadNamedPolicies(string value, ProxyConfig baseConfig, List<string> errors)
    {
        foreach (var name in SplitList(value))
        {
            bool found = false;
            foreach (var policy in baseConfig.Policies) found |= string.Equals(policy.Name, name, StringComparison.Ordinal);
            if (!found)
            {
                errors.Add($"{Policies}: no [policies.{Shown(name)}] in the controller's configuration (known: {(baseConfig.Policies.Count == 0 ? "none" : string.Join(", ", baseConfig.Policies.Select(p => p.Name)))})");
                continue;
            }
            NamedPolicies.Add(name);
        }
    }

    private void ReadRewriteTarget(string value, List<string> errors)
    {
        if (!RewritePath().IsMatch(value))
        {
            errors.Add($"{RewriteTarget}: \"{Shown(value)}\" is not a path (it starts with '/' and holds letters, digits and -._~/%!&'()*+,;=:@ only)");
            return;
        }
        RewriteTargetPath = value;
    }

    /// <summary>
    /// The rewrite policy for one path of this Ingress: the matched part of the path becomes the target, the rest is
    /// kept ("/foo" Prefix with target "/api": /foo/bar → /api/bar; with target "/": /foo/bar → /bar).
    /// </summary>
    public PolicyConfig? RewriteFor(string owner, string path, bool exact, int index, List<string> errors)
    {
        if (RewriteTargetPath is null) return null;
        string pattern, replacement;
        var target = RewriteTargetPath.TrimEnd('/');
        var escaped = Regex.Escape(path.TrimEnd('/'));
        if (exact)
        {
            pattern = "^" + Regex.Escape(path) + "$";
            replacement = RewriteTargetPath;
        }
        else if (target.Length == 0)
        {
            pattern = "^" + escaped + "/?(.*)$";
            replacement = "/$1";
        }
        else
        {
            pattern = "^" + escaped + "(/.*)?$";
            replacement = target + "$1";
        }
        var options = PolicyValues.Read("rewrite", [new("pattern", pattern), new("replacement", replacement)], $"annotation {RewriteTarget} of {owner}", "", out var problems);
        if (options is null)
        {
            foreach (var problem in problems) errors.Add($"{RewriteTarget}: {problem}");
            return null;
        }
        return new PolicyConfig { Name = $"ingress:{owner}:rewrite:{index}", Type = "rewrite", Options = options };
    }

    private void Build(string type, string owner, List<KeyValuePair<string, object>> values, string annotation, List<string> errors)
    {
        var options = PolicyValues.Read(type, values, $"annotation {annotation} of {owner}", "", out var problems);
        if (options is null)
        {
            foreach (var problem in problems) errors.Add($"{annotation}: {problem}");
            return;
        }
        Built.Add(new PolicyConfig { Name = $"ingress:{owner}:{type}", Type = type, Options = options });
    }

    private static List<string> SplitList(string value)
    {
        var list = new List<string>();
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) list.Add(part);
        return list;
    }

    /// <summary>A value as shown in a message: printable ASCII, at most 100 characters (an event is not a place for megabytes).</summary>
    internal static string Shown(string value)
    {
        var chars = new System.Text.StringBuilder();
        foreach (char c in value)
        {
            if (chars.Length == 100) { chars.Append('…'); break; }
            chars.Append(c is >= ' ' and <= '~' ? c : '?');
        }
        return chars.ToString();
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^/[A-Za-z0-9\-._~/%!&'()*+,;=:@]{0,1023}$")]
    private static partial Regex RewritePath();
}
