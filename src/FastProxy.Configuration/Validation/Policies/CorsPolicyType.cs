using System.Globalization;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "cors": the origins a browser may call from (exact, <c>*.example.com</c>, or "*"), the methods and headers a
/// preflight allows, the response headers a page may read, credentials and how long a preflight is cached.
/// </summary>
internal sealed class CorsPolicyType : IPolicyType
{
    public string Name => "cors";

    public IReadOnlyList<string> Keys { get; } = ["origins", "methods", "headers", "expose_headers", "credentials", "max_age", "private_network"];

    // Fetch upper-cases only these when a page writes them in lower case; any other method is compared byte for byte.
    private static readonly string[] StandardMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

    public PolicyOptions? Read(TableReader policy)
    {
        bool credentials = policy.Bool("credentials") ?? false;
        bool anyOrigin = false;
        var origins = new List<CorsOrigin>();
        var entries = policy.Strings("origins");
        if (!policy.Has("origins"))
        {
            policy.TableError("missing required key \"origins\" (e.g. origins = [\"https://app.example.com\", \"https://*.example.com\"], or [\"*\"] for any)");
        }
        else if (entries is { Count: 0 })
        {
            policy.Error("origins", "an empty list allows no origin: list at least one, or [\"*\"] for any");
        }
        foreach (var (text, path) in entries ?? [])
        {
            if (text == "*")
            {
                if (credentials)
                {
                    // Fetch refuses "Access-Control-Allow-Origin: *" on a credentialed request: the page would just fail.
                    policy.Context.Error(path, "\"*\" cannot be used with credentials = true (browsers refuse a wildcard origin on credentialed requests): list the origins, e.g. \"https://app.example.com\" or \"https://*.example.com\"");
                }
                anyOrigin = true;
                continue;
            }
            if (TryParseOrigin(text, out var origin, out var problem))
            {
                if (!origins.Contains(origin)) origins.Add(origin);
            }
            else
            {
                policy.Context.Error(path, problem!);
            }
        }
        if (anyOrigin && origins.Count > 0)
        {
            policy.Error("origins", "\"*\" already allows every origin: list it alone, or list the origins without it");
        }

        var (anyMethod, methods) = Tokens(policy, "methods", what: "method", (method, path) =>
        {
            // "patch" is not PATCH: a page's fetch(..., { method: "PATCH" }) would not be allowed by it.
            var upper = method.ToUpperInvariant();
            if (upper != method && StandardMethods.Contains(upper)) policy.Context.Error(path, $"methods are case-sensitive: write \"{upper}\"");
        });
        var (anyHeader, headers) = Tokens(policy, "headers", what: "header name");
        var (exposeAll, expose) = Tokens(policy, "expose_headers", what: "header name");
        if (exposeAll && credentials)
        {
            policy.Error("expose_headers", "\"*\" exposes every header only to requests without credentials (Fetch); with credentials = true, list the headers");
        }

        TimeSpan? maxAge = null;
        switch (policy.Raw("max_age"))
        {
            case null:
                break;
            case long seconds when seconds >= 0 && seconds <= int.MaxValue:
                maxAge = TimeSpan.FromSeconds(seconds);
                break;
            case long seconds:
                policy.Error("max_age", TableReader.RangeMessage(0, int.MaxValue, seconds.ToString(CultureInfo.InvariantCulture)));
                break;
            case string:
                maxAge = policy.Duration("max_age", allowZero: true);
                if (maxAge is { } age && age.Ticks % TimeSpan.TicksPerSecond != 0)
                {
                    policy.Error("max_age", "Access-Control-Max-Age counts whole seconds");
                    maxAge = null;
                }
                break;
            default:
                policy.Error("max_age", $"expected a duration such as \"10m\" or a number of seconds, got {TomlTypeNames.Of(policy.Raw("max_age")!)}");
                break;
        }

        return new CorsOptions
        {
            AnyOrigin = anyOrigin,
            Origins = anyOrigin ? [] : origins,
            AnyMethod = anyMethod,
            Methods = anyMethod ? [] : methods ?? CorsOptions.DefaultMethods,
            AnyHeader = anyHeader,
            Headers = anyHeader ? [] : headers ?? [],
            ExposeHeaders = exposeAll ? ["*"] : expose ?? [],
            Credentials = credentials,
            MaxAge = maxAge,
            PrivateNetwork = policy.Bool("private_network") ?? false,
        };
    }

    /// <summary>A list of tokens, or ["*"] alone; null when absent.</summary>
    private static (bool Any, List<string>? List) Tokens(TableReader policy, string key, string what, Action<string, string>? check = null)
    {
        var entries = policy.Strings(key);
        if (entries is null) return (false, null);
        bool any = false;
        var list = new List<string>();
        foreach (var (text, path) in entries)
        {
            if (text == "*") any = true;
            else if (!HttpSyntax.IsToken(text)) policy.Context.Error(path, $"\"{text}\" is not a {what} (letters, digits and !#$%&'*+-.^_`|~)");
            else if (!list.Contains(text, StringComparer.OrdinalIgnoreCase))
            {
                check?.Invoke(text, path);
                list.Add(text);
            }
        }
        if (any && list.Count > 0) policy.Error(key, "\"*\" already means any: list it alone");
        return (any, list);
    }

    /// <summary>
    /// An origin as RFC 6454 serialises it: scheme "://" host [":" port], with no path. The scheme may be left out
    /// (http and https), and the host may start with "*." (its subdomains, at any depth; not the domain itself).
    /// </summary>
    internal static bool TryParseOrigin(string text, out CorsOrigin origin, out string? problem)
    {
        origin = default;
        problem = null;
        string? scheme = null;
        var rest = text.AsSpan();
        int sep = text.IndexOf("://", StringComparison.Ordinal);
        if (sep >= 0)
        {
            scheme = text[..sep].ToLowerInvariant();
            if (!IsScheme(scheme))
            {
                problem = $"\"{text}\": \"{text[..sep]}\" is not a URL scheme";
                return false;
            }
            rest = rest[(sep + 3)..];
        }
        if (text == "null")
        {
            // Sent by sandboxed iframes, file: pages and some redirects: any page can make a browser send it.
            problem = "origin \"null\" can be produced by any page (a sandboxed iframe, a file: URL): allowing it allows everyone";
            return false;
        }
        int slash = rest.IndexOfAny("/?#");
        if (slash >= 0)
        {
            problem = $"\"{text}\": an origin has no path, query or fragment; write \"{text[..(text.Length - rest.Length + slash)]}\"";
            return false;
        }
        if (rest.Contains('@'))
        {
            problem = $"\"{text}\": an origin has no user name or password";
            return false;
        }
        int? port = null;
        ReadOnlySpan<char> host;
        int close = rest.LastIndexOf(']');
        int colon = rest.LastIndexOf(':');
        if (colon > close)
        {
            if (!int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
            {
                problem = $"\"{text}\": the port must be a number between 1 and 65535";
                return false;
            }
            port = p;
            host = rest[..colon];
        }
        else
        {
            host = rest;
        }
        bool subdomains = host.StartsWith("*.");
        if (subdomains) host = host[2..];
        var hostText = host.ToString().ToLowerInvariant();
        bool literal = hostText.StartsWith('[');
        if (literal ? subdomains || !hostText.EndsWith(']') || !System.Net.IPAddress.TryParse(hostText[1..^1], out _) || hostText.Contains('%')
            : !IsHostName(hostText))
        {
            problem = hostText.Contains('*')
                ? $"\"{text}\": a wildcard is written \"*.example.com\" (the subdomains of example.com), or \"*\" alone for any origin"
                : $"\"{text}\" is not an origin (e.g. \"https://app.example.com\", \"https://*.example.com\", \"http://localhost:3000\")";
            return false;
        }
        if ((scheme == "https" && port == 443) || (scheme == "http" && port == 80)) port = null; // browsers never send a default port
        origin = new CorsOrigin(scheme, hostText, subdomains, port);
        return true;
    }

    private static bool IsScheme(string s)
    {
        if (s.Length == 0 || !char.IsAsciiLetterLower(s[0])) return false;
        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '+' or '-' or '.')) return false;
        }
        return true;
    }

    /// <summary>Dot-separated labels of letters, digits, '-' and '_' (an IPv4 address is one too).</summary>
    private static bool IsHostName(string s)
    {
        if (s.Length is 0 or > 253) return false;
        foreach (var label in s.Split('.'))
        {
            if (label.Length is 0 or > 63) return false;
            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_')) return false;
            }
        }
        return true;
    }
}
