using System.Text;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "jwt": where keys come from (a JWKS URL, key files, an HMAC secret from the environment or a file), which
/// algorithms are allowed (never "none"; a listed algorithm no key can verify is named), where the token is found,
/// and what a verified token gives the upstream. Key files are read here, so a bad one fails <c>fastproxy check</c>.
/// </summary>
internal sealed class JwtPolicyType : IPolicyType
{
    public static readonly string[] Keys =
    [
        "issuer", "audiences", "jwks_url", "keys", "secret", "algorithms", "clock_skew", "consumer_claim",
        "claims_to_headers", "from", "forward_token", "realm", "required_claims", "max_token_size",
        "jwks_refresh", "jwks_min_interval", "jwks_timeout", "cache_size",
    ];

    /// <summary>Header names a claim may not be copied to: the proxy owns them (framing, hop-by-hop, x-consumer*).</summary>
    private static readonly string[] s_reservedHeaders =
    [
        "host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
    ];

    public string Name => "jwt";

    IReadOnlyList<string> IPolicyType.Keys => Keys;

    public PolicyOptions? Read(TableReader policy)
    {
        var context = policy.Context;
        var keys = new List<JwtKeyMaterial>();
        var jwksUrl = ReadJwksUrl(policy);
        foreach (var (file, path) in policy.Strings("keys") ?? [])
        {
            ReadKeyFile(context, path, file, keys);
        }
        if (policy.String("secret") is { } secret && ReadSecret(policy, secret) is { } key) keys.Add(key);
        if (jwksUrl is null && !policy.Has("jwks_url") && !policy.Has("keys") && !policy.Has("secret"))
        {
            policy.TableError("a jwt policy needs its keys: jwks_url, keys (PEM or JWK files) or secret (an HMAC secret)");
        }

        var algorithms = ReadAlgorithms(policy, jwksUrl is not null, keys);
        var from = ReadSources(policy);
        var claimsToHeaders = ReadClaimsToHeaders(policy);
        var required = new List<string>();
        if (policy.Has("required_claims"))
        {
            foreach (var (claim, path) in policy.Strings("required_claims") ?? [])
            {
                if (claim.Length == 0) context.Error(path, "must not be empty");
                else if (required.Contains(claim)) context.Error(path, $"claim \"{claim}\" is listed twice");
                else required.Add(claim);
            }
        }
        else
        {
            required.Add("exp");
        }
        var realm = policy.String("realm");
        if (realm is not null && (realm.Length == 0 || realm.Any(c => c is '"' or '\\' || c < 0x20 || c > 0x7E)))
        {
            policy.Error("realm", "must be printable ASCII without '\"' or '\\' (it is sent in WWW-Authenticate)");
            realm = null;
        }
        var consumerClaim = policy.String("consumer_claim");
        if (consumerClaim is { Length: 0 }) policy.Error("consumer_claim", "must not be empty");

        return new JwtOptions
        {
            Issuers = ReadIssuers(policy),
            Audiences = ReadAudiences(policy),
            JwksUrl = jwksUrl,
            Keys = keys,
            Algorithms = algorithms,
            ClockSkew = policy.Duration("clock_skew", allowZero: true) ?? TimeSpan.FromSeconds(60),
            ConsumerClaim = consumerClaim is { Length: > 0 } ? consumerClaim : "sub",
            ClaimsToHeaders = claimsToHeaders,
            From = from,
            ForwardToken = policy.Bool("forward_token") ?? false,
            Realm = realm,
            RequiredClaims = required,
            MaxTokenSize = (int)(policy.Size("max_token_size", max: 1024 * 1024) ?? 16 * 1024),
            JwksRefresh = policy.Duration("jwks_refresh") ?? TimeSpan.FromMinutes(10),
            JwksMinInterval = policy.Duration("jwks_min_interval") ?? TimeSpan.FromSeconds(10),
            JwksTimeout = policy.Duration("jwks_timeout") ?? TimeSpan.FromSeconds(5),
            CacheSize = policy.Int("cache_size", 0, 1_000_000) ?? 1024,
        };
    }

    private static Uri? ReadJwksUrl(TableReader policy)
    {
        var text = policy.String("jwks_url");
        if (text is null) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != "https" && url.Scheme != "http") || url.Host.Length == 0)
        {
            policy.Error("jwks_url", "expected an absolute http:// or https:// URL of a JWK Set");
            return null;
        }
        if (url.Scheme == "http" && !url.IsLoopback)
        {
            policy.Context.Warning(policy.PathOf("jwks_url"), "keys fetched over plain http can be replaced by anyone on the path: use https");
        }
        return url;
    }

    private static void ReadKeyFile(LoadContext context, string path, string file, List<JwtKeyMaterial> keys)
    {
        var full = context.FullPath(file);
        if (!PemFiles.CheckReadable(context, path, full)) return;
        var problems = new List<string>();
        List<JwtKeyMaterial> read;
        try
        {
            read = JwtKeyReader.ReadFile(full, problems);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            context.Error(path, $"cannot read {file}: {e.Message}");
            return;
        }
        foreach (var problem in problems) context.Error(path, problem);
        if (problems.Count == 0) keys.AddRange(read);
    }

    /// <summary>"env:NAME" or "file:PATH" (a trailing newline is dropped); a secret in clear in the config is refused.</summary>
    private static JwtKeyMaterial? ReadSecret(TableReader policy, string secret)
    {
        byte[]? bytes = null;
        if (secret.StartsWith("env:", StringComparison.Ordinal))
        {
            var variable = secret[4..];
            var value = variable.Length == 0 ? null : Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(value))
            {
                policy.Error("secret", $"environment variable \"{variable}\" is not set or empty");
                return null;
            }
            bytes = Encoding.UTF8.GetBytes(value);
        }
        else if (secret.StartsWith("file:", StringComparison.Ordinal))
        {
            var full = policy.Context.FullPath(secret[5..]);
            if (!PemFiles.CheckReadable(policy.Context, policy.PathOf("secret"), full)) return null;
            bytes = File.ReadAllBytes(full);
            int length = bytes.Length;
            while (length > 0 && bytes[length - 1] is (byte)'\n' or (byte)'\r') length--;
            bytes = bytes[..length];
        }
        else
        {
            // Never echo the value: it may be the real secret.
            policy.Error("secret", "an HMAC secret is written \"env:NAME\" (read from the environment) or \"file:PATH\"; a secret in clear is not accepted");
            return null;
        }
        if (bytes.Length < JwtKeyReader.MinSecretBytes)
        {
            policy.Error("secret", $"an HMAC secret must be at least {JwtKeyReader.MinSecretBytes} bytes (RFC 7518 §3.2), this one is {bytes.Length}");
            return null;
        }
        return new JwtKeyMaterial { Type = JwtKeyType.Secret, Secret = bytes, Origin = "secret" };
    }

    private static List<JwtAlgorithm> ReadAlgorithms(TableReader policy, bool hasJwks, List<JwtKeyMaterial> keys)
    {
        bool Verifiable(JwtAlgorithm a) => keys.Any(k => k.Fits(a)) || (hasJwks && !JwtAlgorithms.IsHmac(a));
        var list = new List<JwtAlgorithm>();
        if (!policy.Has("algorithms"))
        {
            // Every algorithm the configured keys can verify: a JWKS URL stands for all asymmetric ones.
            list.AddRange(JwtAlgorithms.All.Where(Verifiable));
            return list;
        }
        var context = policy.Context;
        foreach (var (name, path) in policy.Strings("algorithms") ?? [])
        {
            if (name.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                context.Error(path, "\"none\" (an unsigned token) is never accepted");
                continue;
            }
            if (!JwtAlgorithms.TryParse(name, out var algorithm))
            {
                var known = JwtAlgorithms.All.Select(JwtAlgorithms.Name).ToList();
                var close = known.FirstOrDefault(k => k.Equals(name, StringComparison.OrdinalIgnoreCase)) ?? Suggestions.Closest(name, known);
                context.Error(path, close is null
                    ? $"unknown algorithm \"{name}\" (known: {string.Join(", ", known)})"
                    : $"unknown algorithm \"{name}\" (did you mean \"{close}\"?)");
                continue;
            }
            if (list.Contains(algorithm))
            {
                context.Error(path, $"\"{name}\" is listed twice");
                continue;
            }
            if (JwtAlgorithms.IsHmac(algorithm) && !keys.Any(k => k.Fits(algorithm)))
            {
                context.Error(path, keys.Any(k => k.Type == JwtKeyType.Secret)
                    ? $"{name} needs a secret of at least {(algorithm == JwtAlgorithm.HS384 ? 48 : algorithm == JwtAlgorithm.HS512 ? 64 : 32)} bytes"
                    : $"{name} needs a secret (secret = \"env:NAME\", or an \"oct\" JWK file in keys); secrets from jwks_url are not used");
                continue;
            }
            if (!Verifiable(algorithm))
            {
                context.Warning(path, $"no configured key can verify {name}: tokens using it will be refused");
            }
            list.Add(algorithm);
        }
        if (list.Count == 0 && policy.Has("algorithms") && policy.Raw("algorithms") is TomlArray { Count: 0 })
        {
            policy.Error("algorithms", "must allow at least one algorithm");
        }
        return list;
    }

    private static List<JwtTokenSource> ReadSources(TableReader policy)
    {
        var list = new List<JwtTokenSource>();
        if (!policy.Has("from"))
        {
            list.Add(new JwtTokenSource(JwtTokenSourceKind.Header, "authorization"));
            return list;
        }
        var context = policy.Context;
        foreach (var (text, path) in policy.Strings("from") ?? [])
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            var kind = colon < 0 ? null : text[..colon] switch
            {
                "header" => JwtTokenSourceKind.Header,
                "cookie" => JwtTokenSourceKind.Cookie,
                "query" => (JwtTokenSourceKind?)JwtTokenSourceKind.Query,
                _ => null,
            };
            var name = colon < 0 ? "" : text[(colon + 1)..];
            if (kind is null || !HttpSyntax.IsToken(name))
            {
                context.Error(path, $"expected \"header:NAME\", \"cookie:NAME\" or \"query:NAME\", got \"{text}\"");
                continue;
            }
            var source = new JwtTokenSource(kind.Value, kind == JwtTokenSourceKind.Header ? name.ToLowerInvariant() : name);
            if (list.Contains(source))
            {
                context.Error(path, $"\"{text}\" is listed twice");
                continue;
            }
            list.Add(source);
        }
        if (list.Count == 0 && policy.Raw("from") is TomlArray { Count: 0 }) policy.Error("from", "must name at least one place to find the token");
        return list;
    }

    private static List<KeyValuePair<string, string>> ReadClaimsToHeaders(TableReader policy)
    {
        var list = new List<KeyValuePair<string, string>>();
        var table = policy.Table("claims_to_headers", keys: null);
        if (table is null) return list;
        var context = policy.Context;
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (claim, value) in table.Entries)
        {
            var path = table.PathOf(claim);
            if (value is not string header)
            {
                context.Error(path, $"expected a header name, got {TomlTypeNames.Of(value)}");
                continue;
            }
            if (claim.Length == 0)
            {
                context.ErrorAtKey(path, "a claim name must not be empty");
                continue;
            }
            if (!HttpSyntax.IsToken(header))
            {
                context.Error(path, $"invalid header name \"{header}\": expected letters, digits and !#$%&'*+-.^_`|~");
                continue;
            }
            if (s_reservedHeaders.Contains(header, StringComparer.OrdinalIgnoreCase) || header.StartsWith("x-consumer", StringComparison.OrdinalIgnoreCase))
            {
                context.Error(path, $"{header} is set by the proxy");
                continue;
            }
            if (!names.Add(header))
            {
                context.Error(path, $"header \"{header}\" is given twice (names are case-insensitive)");
                continue;
            }
            list.Add(new(claim, header.ToLowerInvariant()));
        }
        return list;
    }

    private static List<string> ReadIssuers(TableReader policy)
    {
        switch (policy.Raw("issuer"))
        {
            case null:
                return [];
            case string one when one.Length > 0:
                return [one];
            case string:
                policy.Error("issuer", "must not be empty");
                return [];
            case TomlArray:
                var list = new List<string>();
                foreach (var (issuer, path) in policy.Strings("issuer") ?? [])
                {
                    if (issuer.Length == 0) policy.Context.Error(path, "must not be empty");
                    else list.Add(issuer);
                }
                return list;
            case var other:
                policy.Error("issuer", $"expected a string or an array of strings, got {TomlTypeNames.Of(other)}");
                return [];
        }
    }

    private static List<string> ReadAudiences(TableReader policy)
    {
        var list = new List<string>();
        foreach (var (audience, path) in policy.Strings("audiences") ?? [])
        {
            if (audience.Length == 0) policy.Context.Error(path, "must not be empty");
            else list.Add(audience);
        }
        return list;
    }
}
