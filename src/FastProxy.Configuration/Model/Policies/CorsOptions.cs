namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "cors": which web origins a browser may call the route from, and what it may send and read.
/// </summary>
public sealed class CorsOptions : PolicyOptions
{
    /// <summary>origins = ["*"]: every origin (never together with credentials).</summary>
    public bool AnyOrigin { get; init; }

    /// <summary>The allowed origins, normalised (lowercase, no default port); empty when <see cref="AnyOrigin"/>.</summary>
    public IReadOnlyList<CorsOrigin> Origins { get; init; } = [];

    /// <summary>methods = ["*"]: a preflight's requested method is echoed back.</summary>
    public bool AnyMethod { get; init; }

    public IReadOnlyList<string> Methods { get; init; } = DefaultMethods;

    /// <summary>headers = ["*"]: a preflight's requested headers are echoed back (Authorization included).</summary>
    public bool AnyHeader { get; init; }

    public IReadOnlyList<string> Headers { get; init; } = [];

    public IReadOnlyList<string> ExposeHeaders { get; init; } = [];

    /// <summary>Access-Control-Allow-Credentials: true (cookies, HTTP authentication, client certificates).</summary>
    public bool Credentials { get; init; }

    /// <summary>Access-Control-Max-Age; null: not sent (browsers then cache a preflight for 5 seconds).</summary>
    public TimeSpan? MaxAge { get; init; }

    /// <summary>Answer Private Network Access preflights (Access-Control-Request-Private-Network: true).</summary>
    public bool PrivateNetwork { get; init; }

    public static readonly IReadOnlyList<string> DefaultMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
}

/// <summary>
/// One allowed origin: <c>https://app.example.com</c>, <c>https://*.example.com</c> (subdomains only), or either without
/// a scheme (then http and https). Host and scheme are lowercase; a default port (80 for http, 443 for https) is dropped.
/// </summary>
/// <param name="Scheme">Null: http or https.</param>
/// <param name="Host">The host, or for <paramref name="Subdomains"/> the domain whose subdomains match.</param>
/// <param name="Port">Null: the scheme's default port (no port in the Origin header).</param>
public readonly record struct CorsOrigin(string? Scheme, string Host, bool Subdomains, int? Port)
{
    public override string ToString() =>
        $"{(Scheme is null ? "" : Scheme + "://")}{(Subdomains ? "*." : "")}{Host}{(Port is null ? "" : ":" + Port)}";
}
