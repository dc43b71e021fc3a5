namespace FastProxy.Policies.Pipeline;

/// <summary>
/// HTTP calls policies make on their own (forward_auth's check, a JWKS fetch). The host provides it; policies never
/// open sockets themselves, and tests can point it at real servers on loopback.
/// </summary>
public interface IOutboundHttp
{
    /// <summary>Sends a request; never throws for HTTP-level failures (a status is an answer), throws for transport failures and timeouts.</summary>
    Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken);
}

public sealed class OutboundRequest
{
    public required string Method { get; init; }
    public required Uri Url { get; init; }
    public List<KeyValuePair<string, string>> Headers { get; } = [];
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Bodies beyond this are cut off and the call fails: a JWKS or an auth answer is small.</summary>
    public int MaxResponseBytes { get; init; } = 1 << 20;
}

public sealed class OutboundResponse
{
    public required int Status { get; init; }
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }
    public required byte[] Body { get; init; }

    public string? Header(string name)
    {
        foreach (var (n, v) in Headers)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return v;
        }
        return null;
    }
}
