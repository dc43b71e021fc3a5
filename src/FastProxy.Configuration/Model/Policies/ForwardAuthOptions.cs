namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "forward_auth": every request is first asked about to an auth service (a GET to
/// <see cref="Url"/>); its 2xx lets the request go on, any other answer is the client's answer.
/// </summary>
public sealed class ForwardAuthOptions : PolicyOptions
{
    /// <summary>Client request headers sent in <c>request_headers</c> when the key is absent.</summary>
    public static readonly IReadOnlyList<string> DefaultRequestHeaders = ["authorization", "cookie", "accept"];

    /// <summary>The auth service: an absolute http:// or https:// URL.</summary>
    public required Uri Url { get; init; }

    /// <summary>The whole call (connect, answer head and body) must end within this, or the client gets 503.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Client request headers copied to the auth request, lower-case (the X-Forwarded-* set is always sent).</summary>
    public IReadOnlyList<string> RequestHeaders { get; init; } = DefaultRequestHeaders;

    /// <summary>Headers of the auth service's 2xx answer set on the upstream request, lower-case; a client's are always removed.</summary>
    public IReadOnlyList<string> CopyHeaders { get; init; } = [];

    /// <summary>Headers of the auth service's 2xx answer added to the client's response (a refreshed session cookie), lower-case.</summary>
    public IReadOnlyList<string> CopyResponseHeaders { get; init; } = [];

    /// <summary>A header of the 2xx answer naming a declared [consumers.NAME]; null: the auth service names no consumer.</summary>
    public string? ConsumerHeader { get; init; }
}
