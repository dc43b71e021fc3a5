namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "redirect": answers every request it sees with a redirect to the same URL with some parts
/// replaced (scheme, host, port, path), and an empty body. <c>scheme = "https"</c> alone is the HTTP to HTTPS redirect.
/// </summary>
public sealed class RedirectOptions : PolicyOptions
{
    /// <summary>"http" or "https"; null: the request's.</summary>
    public string? Scheme { get; init; }
    /// <summary>A host name or IP address (no port); null: the request's Host.</summary>
    public string? Host { get; init; }
    /// <summary>null: none when the scheme or host is replaced (the scheme's default port), else the request's.</summary>
    public int? Port { get; init; }
    /// <summary>A literal path (with its own query, if any) replacing the request's path and query; null ("$path"): both kept.</summary>
    public string? Path { get; init; }
    /// <summary>301, 302, 307 or 308.</summary>
    public int Status { get; init; } = 308;
}
