namespace FastProxy.Configuration;

/// <summary>What consistent_hash hashes: <c>hash_key = "ip" | "header:NAME" | "cookie:NAME" | "path"</c>.</summary>
public enum HashKeyKind { Ip, Header, Cookie, Path }

public sealed class HashKeyConfig
{
    public HashKeyKind Kind { get; init; } = HashKeyKind.Ip;
    /// <summary>The header (lower-cased) or cookie name; null for ip and path.</summary>
    public string? Name { get; init; }

    public static HashKeyConfig Default { get; } = new();

    public override string ToString() => Kind switch
    {
        HashKeyKind.Header => "header:" + Name,
        HashKeyKind.Cookie => "cookie:" + Name,
        HashKeyKind.Path => "path",
        _ => "ip",
    };
}

/// <summary>
/// <c>sticky = { cookie = "NAME", ttl = "1h", path = "/", httponly = true, secure = false }</c>: a client that carries
/// the cookie goes back to the server it names (an opaque id, not the address); one without it (or naming a server
/// gone or down) is balanced as usual and gets the cookie for the server that answered.
/// </summary>
public sealed class StickyConfig
{
    public required string Cookie { get; init; }
    /// <summary>Max-Age of the cookie; null: a session cookie (kept until the browser closes).</summary>
    public TimeSpan? Ttl { get; init; }
    public string Path { get; init; } = "/";
    public bool HttpOnly { get; init; } = true;
    public bool Secure { get; init; }
}
