namespace FastProxy.Configuration;

/// <summary>
/// [listeners.hsts] (TLS listeners): the Strict-Transport-Security field (RFC 6797) put on every final response the
/// listener sends, forwarded or the proxy's own.
/// </summary>
public sealed class HstsConfig
{
    /// <summary>31,536,000 seconds: one year, the least the HSTS preload list accepts.</summary>
    public const long OneYearSeconds = 365L * 24 * 3600;

    /// <summary>max-age, in whole seconds; 0 tells browsers to forget the policy.</summary>
    public long MaxAgeSeconds { get; init; } = OneYearSeconds;
    public bool IncludeSubdomains { get; init; }
    public bool Preload { get; init; }
    public SourceLocation Location { get; init; }

    /// <summary>The field's value: "max-age=N[; includeSubDomains][; preload]".</summary>
    public string Value => "max-age=" + MaxAgeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)
        + (IncludeSubdomains ? "; includeSubDomains" : "") + (Preload ? "; preload" : "");
}
