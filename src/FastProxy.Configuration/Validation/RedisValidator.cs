using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// [redis]: the server rate_limit's store = "redis" keeps its counts in. Absent section: no Redis (a policy asking for
/// one is refused by <see cref="RedisReferenceValidator"/>). The address is resolved at load like a server's, so a
/// typo fails `fastproxy check`; the connection itself is made when the proxy starts.
/// </summary>
internal static class RedisValidator
{
    public static readonly string[] Keys = ["address", "user", "password", "database", "timeout", "connect_timeout", "max_in_flight"];

    public const string DefaultAddress = "127.0.0.1:6379";
    private const string TlsScheme = "redis+tls://";
    private const string PlainScheme = "redis://";

    public static RedisConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var defaults = new RedisConfig { Address = DefaultAddress, Host = "127.0.0.1", Port = 6379 };
        var address = table.Has("address") ? table.String("address") : DefaultAddress;
        string host = defaults.Host;
        int port = defaults.Port;
        bool tls = false;
        if (address is not null && !TryAddress(table, address, out host, out port, out tls)) address = null;

        var (password, source) = ReadPassword(table);
        var user = table.String("user");
        if (user is { Length: 0 })
        {
            table.Error("user", "must not be empty (leave the key out for Redis's default user)");
            user = null;
        }
        if (user is not null && password is null && source is null)
        {
            table.Error("user", "a user needs a password (password = \"env:NAME\")");
        }

        var timeout = table.Duration("timeout") ?? defaults.Timeout;
        var connectTimeout = table.Duration("connect_timeout") ?? defaults.ConnectTimeout;
        if (timeout > TimeSpan.FromSeconds(10))
        {
            // A rate-limit check holds its request for this long when Redis stalls: more than seconds is a mistake.
            table.Error("timeout", "must be at most 10s (each request waits this long for Redis when it stalls)");
        }

        return new RedisConfig
        {
            Address = address ?? DefaultAddress,
            Host = host,
            Port = port,
            Tls = tls,
            User = user,
            Password = password,
            PasswordSource = source,
            Database = table.Int("database", 0, 1_000_000) ?? 0,
            Timeout = timeout,
            ConnectTimeout = connectTimeout,
            MaxInFlight = table.Int("max_in_flight", 1, 1_000_000) ?? defaults.MaxInFlight,
            Location = table.Context.Map.Value(table.Path),
        };
    }

    /// <summary>A rate_limit policy with store = "redis" needs a [redis] section to find the server.</summary>
    public static void CheckReferences(LoadContext context, IReadOnlyList<PolicyConfig> policies, RedisConfig? redis)
    {
        if (redis is not null) return;
        foreach (var policy in policies)
        {
            if (policy.Options is RateLimitOptions { Store: RateLimitStoreKind.Redis })
            {
                context.Error(KeyPath.Child(KeyPath.Child("policies", policy.Name), "store"),
                    "store = \"redis\" needs a [redis] section naming the server (address = \"127.0.0.1:6379\")");
            }
        }
    }

    /// <summary>"host:port", "redis://host:port" or "redis+tls://host:port"; the host is resolved now so a typo is found by `check`.</summary>
    private static bool TryAddress(TableReader table, string address, out string host, out int port, out bool tls)
    {
        host = "";
        port = 0;
        tls = false;
        var rest = address;
        if (rest.StartsWith(TlsScheme, StringComparison.OrdinalIgnoreCase))
        {
            tls = true;
            rest = rest[TlsScheme.Length..];
        }
        else if (rest.StartsWith(PlainScheme, StringComparison.OrdinalIgnoreCase))
        {
            rest = rest[PlainScheme.Length..];
        }
        else if (rest.Contains("://", StringComparison.Ordinal))
        {
            table.Error("address", $"unknown scheme in \"{address}\" (write \"host:port\", \"redis://host:port\" or \"redis+tls://host:port\")");
            return false;
        }
        if (rest.Contains('@') || rest.Contains('/'))
        {
            // redis://user:pass@host/0 is another client's URL form: the password would sit in clear in the address.
            table.Error("address", "write only host:port here; the password goes in password = \"env:NAME\", the database in database = N");
            return false;
        }
        if (EndPoints.Resolve(table.Context, table.PathOf("address"), rest, allowPortZero: false, out var written) is not { } endPoint)
        {
            return false;
        }
        host = written.StartsWith('[') ? written[1..^1] : written;
        port = endPoint.Port;
        return true;
    }

    /// <summary>"env:NAME" (read now; unset or empty is an error) or the password itself. Never echoed in a message.</summary>
    private static (string? Password, string? Source) ReadPassword(TableReader table)
    {
        var text = table.String("password");
        if (text is null) return (null, null);
        if (text.StartsWith("env:", StringComparison.Ordinal))
        {
            var variable = text[4..];
            var value = variable.Length == 0 ? null : Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(value))
            {
                table.Error("password", $"environment variable \"{variable}\" is not set or empty");
                return (null, text);
            }
            return (value, text);
        }
        if (text.Length == 0)
        {
            table.Error("password", "must not be empty (leave the key out when Redis has no password)");
            return (null, "(literal)");
        }
        return (text, "(literal)");
    }
}
