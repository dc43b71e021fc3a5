using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>One [upstreams.NAME]: its servers, how to pick one, how to talk to it, and its resilience sub-tables.</summary>
internal static class UpstreamValidator
{
    public static readonly string[] Keys =
    [
        "balance", "hash_key", "sticky", "servers", "protocol", "tls", "ca", "sni", "insecure_skip_verify",
        "connect_timeout", "response_timeout", "read_timeout", "request_timeout", "max_idle_per_server",
        "request_buffering", "health", "passive", "retry", "limits", "resolve_interval", "servers_file",
    ];

    /// <summary>Keys of a server or a sub-table written on the upstream itself: say where they go.</summary>
    public static readonly IReadOnlyDictionary<string, string> Misplaced = MisplacedKeys.Homes(
        (ServerValidator.Keys, "servers = [{ address = ..., weight = ... }]"),
        (HealthCheckValidator.Keys, "[upstreams.NAME.health]"),
        (PassiveHealthValidator.Keys, "[upstreams.NAME.passive]"),
        (RetryValidator.Keys, "[upstreams.NAME.retry]"),
        (UpstreamLimitsValidator.Keys, "[upstreams.NAME.limits]"));

    private static readonly (string, BalanceKind)[] Balances =
    [
        ("round_robin", BalanceKind.RoundRobin),
        ("least_conn", BalanceKind.LeastConn),
        ("ip_hash", BalanceKind.IpHash),
        ("weighted", BalanceKind.Weighted),
        ("consistent_hash", BalanceKind.ConsistentHash),
        ("p2c", BalanceKind.PowerOfTwoChoices),
    ];

    /// <summary>The keys of sticky = { ... }.</summary>
    public static readonly string[] StickyKeys = ["cookie", "ttl", "path", "httponly", "secure"];

    private static readonly (string, UpstreamProtocol)[] Protocols =
    [
        ("http1", UpstreamProtocol.Http1),
        ("h2c", UpstreamProtocol.H2c),
        ("h2", UpstreamProtocol.H2),
    ];

    public static UpstreamConfig Read(TableReader table, string name)
    {
        var context = table.Context;
        var defaults = new UpstreamConfig { Name = name };

        var protocol = table.Choice("protocol", "protocol", Protocols) ?? defaults.Protocol;
        var tls = table.Bool("tls") ?? false;
        if (protocol == UpstreamProtocol.H2 && !tls)
        {
            // h2 is negotiated by ALPN inside TLS (RFC 9113 3.2); cleartext HTTP/2 is h2c.
            table.Error("protocol", "h2 needs tls = true (for HTTP/2 without TLS use \"h2c\")");
        }

        var ca = ReadCa(table, tls);
        var sni = ReadSni(table, tls);
        var insecure = table.Bool("insecure_skip_verify") ?? false;
        if (table.Has("insecure_skip_verify") && !tls)
        {
            table.Error("insecure_skip_verify", "only applies with tls = true");
        }
        else if (insecure)
        {
            context.Warning(table.PathOf("insecure_skip_verify"), "server certificates are not verified: for development only");
        }

        var (servers, serversFile) = ReadServers(table);
        var balance = table.Choice("balance", "balance", Balances) ?? defaults.Balance;
        return new UpstreamConfig
        {
            Name = name,
            Balance = balance,
            HashKey = ReadHashKey(table, balance),
            Sticky = ReadSticky(table.Table("sticky", StickyKeys)),
            Servers = servers,
            ServersFile = serversFile,
            ResolveInterval = table.Duration("resolve_interval", allowZero: true) ?? defaults.ResolveInterval,
            Protocol = protocol,
            Tls = tls,
            Ca = ca,
            Sni = sni,
            InsecureSkipVerify = insecure,
            ConnectTimeout = table.Duration("connect_timeout") ?? defaults.ConnectTimeout,
            ResponseTimeout = table.Duration("response_timeout") ?? defaults.ResponseTimeout,
            ReadTimeout = table.Duration("read_timeout"),
            RequestTimeout = table.Duration("request_timeout", allowZero: true) ?? defaults.RequestTimeout,
            MaxIdlePerServer = table.Int("max_idle_per_server", 0),
            RequestBuffering = table.Bool("request_buffering") ?? defaults.RequestBuffering,
            Health = HealthCheckValidator.Read(table.Table("health", HealthCheckValidator.Keys)),
            Passive = PassiveHealthValidator.Read(table.Table("passive", PassiveHealthValidator.Keys)),
            Retry = RetryValidator.Read(table.Table("retry", RetryValidator.Keys)),
            Limits = UpstreamLimitsValidator.Read(table.Table("limits", UpstreamLimitsValidator.Keys)),
            Location = context.Map.Value(table.Path),
        };
    }

    /// <summary>hash_key = "ip" | "header:NAME" | "cookie:NAME" | "path": only with balance = "consistent_hash".</summary>
    private static HashKeyConfig ReadHashKey(TableReader table, BalanceKind balance)
    {
        if (table.String("hash_key") is not { } text) return HashKeyConfig.Default;
        if (balance != BalanceKind.ConsistentHash)
        {
            table.Error("hash_key", "only applies with balance = \"consistent_hash\"");
            return HashKeyConfig.Default;
        }
        if (text == "ip") return HashKeyConfig.Default;
        if (text == "path") return new HashKeyConfig { Kind = HashKeyKind.Path };
        int colon = text.IndexOf(':');
        string kind = colon < 0 ? text : text[..colon];
        string name = colon < 0 ? "" : text[(colon + 1)..];
        if (kind is "header" or "cookie" && HttpSyntax.IsToken(name))
        {
            return new HashKeyConfig
            {
                Kind = kind == "header" ? HashKeyKind.Header : HashKeyKind.Cookie,
                Name = kind == "header" ? name.ToLowerInvariant() : name,
            };
        }
        table.Error("hash_key", kind is "header" or "cookie"
            ? $"\"{text}\": {kind}:NAME needs a {kind} name (a token: letters, digits, !#$%&'*+-.^_`|~)"
            : $"unknown hash_key \"{text}\" (known: \"ip\", \"header:NAME\", \"cookie:NAME\", \"path\")");
        return HashKeyConfig.Default;
    }

    private static StickyConfig? ReadSticky(TableReader? sticky)
    {
        if (sticky is null) return null;
        var cookie = sticky.RequiredString("cookie");
        if (cookie is not null && !HttpSyntax.IsToken(cookie))
        {
            sticky.Error("cookie", $"\"{cookie}\" is not a valid cookie name (a token: letters, digits, !#$%&'*+-.^_`|~)");
            cookie = null;
        }
        var path = sticky.String("path") ?? "/";
        if (!path.StartsWith('/') || path.Any(c => c is ';' or ',' || char.IsControl(c) || c > '~' || c == ' '))
        {
            sticky.Error("path", $"\"{path}\" must start with / and hold no ';', ',', space or control character");
        }
        var ttl = sticky.Duration("ttl");
        var httpOnly = sticky.Bool("httponly") ?? true;
        var secure = sticky.Bool("secure") ?? false;
        if (cookie is null) return null;
        return new StickyConfig { Cookie = cookie, Ttl = ttl, Path = path, HttpOnly = httpOnly, Secure = secure };
    }

    /// <summary>servers = [...] in the file, or servers_file = "servers.toml" (relative to this file), not both.</summary>
    private static (List<ServerConfig>, string?) ReadServers(TableReader table)
    {
        if (table.String("servers_file") is not { } relative) return (ServerValidator.ReadAll(table), null);
        if (table.Has("servers"))
        {
            table.Error("servers_file", "servers and servers_file cannot both be set: list the servers in one place");
            return ([], null);
        }
        var file = table.Context.FullPath(relative);
        var servers = ServersFileReader.Read(table.Context, table.PathOf("servers_file"), file) ?? [];
        return (servers, file);
    }

    private static string? ReadCa(TableReader table, bool tls)
    {
        if (table.String("ca") is not { } ca) return null;
        if (!tls)
        {
            table.Error("ca", "only applies with tls = true");
            return null;
        }
        var file = table.Context.FullPath(ca);
        if (PemFiles.CheckReadable(table.Context, table.PathOf("ca"), file))
        {
            PemFiles.CheckCaBundle(table.Context, table.PathOf("ca"), file);
        }
        return file;
    }

    private static string? ReadSni(TableReader table, bool tls)
    {
        if (table.String("sni") is not { } sni) return null;
        if (!tls)
        {
            table.Error("sni", "only applies with tls = true");
            return null;
        }
        // We send this name, so it must be one exact name: no wildcard.
        var normalized = HostNames.NormalizePattern(sni, allowIpLiteral: false, out var problem);
        if (normalized is not null && normalized.StartsWith("*.", StringComparison.Ordinal))
        {
            problem = $"invalid name \"{sni}\": the name sent to the server cannot be a wildcard";
            normalized = null;
        }
        if (normalized is null) table.Error("sni", problem);
        return normalized;
    }
}
