namespace FastProxy.Observability.AccessLog;

/// <summary>
/// Why the proxy answered (or ended) a request itself instead of relaying the upstream's response; several may hold
/// (a retried connect failure that then timed out). Logged by name (<see cref="AccessLogFlagNames"/>).
/// </summary>
[Flags]
public enum AccessLogFlags : ushort
{
    None = 0,
    /// <summary>No route matched: 404.</summary>
    NoRoute = 1 << 0,
    /// <summary>A `respond` route answered (the configured answer, not a failure).</summary>
    Respond = 1 << 1,
    /// <summary>An authentication or access policy refused the request (401, 403).</summary>
    AuthRefused = 1 << 2,
    /// <summary>A rate limit refused the request (429).</summary>
    RateLimited = 1 << 3,
    /// <summary>Another policy answered (cors preflight, a policy's own answer).</summary>
    PolicyAnswer = 1 << 4,
    /// <summary>No upstream server could be connected to: 502.</summary>
    UpstreamConnectFailed = 1 << 5,
    /// <summary>The upstream did not answer in time (response_timeout, read_timeout, request_timeout): 504.</summary>
    UpstreamTimeout = 1 << 6,
    /// <summary>The upstream closed or reset the connection, or sent a malformed response: 502, or a cut response.</summary>
    UpstreamReset = 1 << 7,
    /// <summary>The upstream is overloaded on our side (circuit breaker, limits, no healthy server): 503.</summary>
    UpstreamUnavailable = 1 << 8,
    /// <summary>The client went away before the response was complete.</summary>
    ClientAborted = 1 << 9,
    /// <summary>The request was refused as malformed or too large (400, 413, 414, 431...).</summary>
    BadRequest = 1 << 10,
    /// <summary>The client was too slow sending its request: 408.</summary>
    ClientTimeout = 1 << 11,
    /// <summary>The request was retried on another server at least once.</summary>
    Retried = 1 << 12,
}

/// <summary>The flags' names as logged (JSON array elements), in bit order.</summary>
public static class AccessLogFlagNames
{
    internal static readonly byte[][] Utf8 =
    [
        "no_route"u8.ToArray(),
        "respond"u8.ToArray(),
        "auth_refused"u8.ToArray(),
        "rate_limited"u8.ToArray(),
        "policy_answer"u8.ToArray(),
        "upstream_connect_failed"u8.ToArray(),
        "upstream_timeout"u8.ToArray(),
        "upstream_reset"u8.ToArray(),
        "upstream_unavailable"u8.ToArray(),
        "client_aborted"u8.ToArray(),
        "bad_request"u8.ToArray(),
        "client_timeout"u8.ToArray(),
        "retried"u8.ToArray(),
    ];

    public static IEnumerable<string> All => Utf8.Select(n => System.Text.Encoding.ASCII.GetString(n));
}

/// <summary>
/// One request as the access log sees it, filled at the request's end from the request's own buffers: spans into the
/// connection's head and state, so building one allocates nothing. Empty spans are absent values (logged as null or
/// "-"); negative numbers likewise.
/// </summary>
public ref struct AccessLogEntry
{
    /// <summary>When the request ended (UTC).</summary>
    public DateTime Time;
    /// <summary>The client's address as text (after trusted-proxy resolution).</summary>
    public ReadOnlySpan<byte> ClientIp;
    public ReadOnlySpan<byte> Method;
    public ReadOnlySpan<byte> Host;
    /// <summary>The path and query as the client sent them; credential query parameters are redacted when written.</summary>
    public ReadOnlySpan<byte> Path;
    /// <summary>"HTTP/1.1", "HTTP/1.0", "HTTP/2.0".</summary>
    public ReadOnlySpan<byte> Protocol;
    public int Status;
    /// <summary>Bytes received from the client for this request (head and body).</summary>
    public long BytesIn;
    /// <summary>Bytes sent to the client for this request (head and body).</summary>
    public long BytesOut;
    /// <summary>From the first byte of the request to the last of the response, in Stopwatch ticks.</summary>
    public long DurationTicks;
    /// <summary>The upstream's name; empty when none was used.</summary>
    public ReadOnlySpan<byte> Upstream;
    /// <summary>The server's address ("10.0.0.1:9001") of the last attempt; empty when none.</summary>
    public ReadOnlySpan<byte> Server;
    /// <summary>Request sent to response head received, in Stopwatch ticks; negative: no upstream response.</summary>
    public long UpstreamTicks;
    public ReadOnlySpan<byte> Route;
    public ReadOnlySpan<byte> Consumer;
    public ReadOnlySpan<byte> RequestId;
    public ReadOnlySpan<byte> UserAgent;
    /// <summary>Only the combined format logs it.</summary>
    public ReadOnlySpan<byte> Referer;
    public AccessLogFlags Flags;
}
