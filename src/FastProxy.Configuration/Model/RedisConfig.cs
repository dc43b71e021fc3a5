namespace FastProxy.Configuration;

/// <summary>
/// [redis]: the one Redis server that shared state lives in (rate_limit's store = "redis"). Every FastProxy instance
/// pointing at the same server shares its limits. The password is resolved at load and never shown:
/// <see cref="ToString"/> and anything built from it print "***" instead.
/// </summary>
public sealed class RedisConfig
{
    /// <summary>As written: "127.0.0.1:6379", "redis://host:6379" or "redis+tls://host:6380".</summary>
    public required string Address { get; init; }
    /// <summary>The host part (a name or an address; an IPv6 literal without its brackets): what is connected to, and the TLS server name.</summary>
    public required string Host { get; init; }
    public required int Port { get; init; }
    /// <summary>"redis+tls://": TLS to the server, its certificate checked against the system store and <see cref="Host"/>.</summary>
    public bool Tls { get; init; }
    /// <summary>AUTH user (Redis 6 ACL); null: the default user.</summary>
    public string? User { get; init; }
    /// <summary>AUTH password, read from the environment ("env:NAME") or written in clear; null: none. Never logged or shown.</summary>
    public string? Password { get; init; }
    /// <summary>Where the password came from, safe to show: "env:NAME", "(literal)" or null.</summary>
    public string? PasswordSource { get; init; }
    /// <summary>SELECT: the logical database (0-based).</summary>
    public int Database { get; init; }
    /// <summary>A call not answered within this is a store error (the request does not wait longer).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(20);
    /// <summary>How long one attempt to (re)connect may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>The most calls waiting for an answer at once; a call beyond it is a store error at once (memory stays bounded when Redis stalls).</summary>
    public int MaxInFlight { get; init; } = 10_000;
    public SourceLocation Location { get; init; }

    /// <summary>True when a connection made for <paramref name="other"/> can serve this config unchanged (a reload keeps it).</summary>
    public bool SameConnection(RedisConfig other) =>
        Host == other.Host && Port == other.Port && Tls == other.Tls && User == other.User && Password == other.Password
        && Database == other.Database && ConnectTimeout == other.ConnectTimeout;

    /// <summary>Safe to log: the address and where the password comes from, never the password.</summary>
    public override string ToString() =>
        Password is null ? Address : $"{Address} (password {PasswordSource ?? "***"})";
}
