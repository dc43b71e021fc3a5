namespace FastProxy.Observability;

/// <summary>
/// Why the proxy answered (or ended) a request itself instead of relaying an upstream's response: the access log's
/// <c>flags</c>, and what the metrics and traces tell apart. Several may hold (a retry that then timed out).
/// </summary>
[Flags]
internal enum RequestFlags : uint
{
    None = 0,
    /// <summary>No route matched (404).</summary>
    NoRoute = 1 << 0,
    /// <summary>A rate_limit policy refused it (429).</summary>
    RateLimited = 1 << 1,
    /// <summary>An authentication or authorisation policy refused it (401/403).</summary>
    AuthRefused = 1 << 2,
    /// <summary>A policy answered (any status: a refusal, a CORS preflight...).</summary>
    PolicyAnswer = 1 << 3,
    /// <summary>The upstream did not answer in time (504).</summary>
    UpstreamTimeout = 1 << 4,
    /// <summary>The upstream closed or reset the connection, or sent a malformed response (502).</summary>
    UpstreamReset = 1 << 5,
    /// <summary>No connection to any server could be made (502).</summary>
    UpstreamConnectFailed = 1 << 6,
    /// <summary>No server could be picked: all down, drained or ejected (503).</summary>
    NoServer = 1 << 7,
    /// <summary>The upstream's max_requests / max_pending was reached (circuit breaking, 503).</summary>
    CircuitOpen = 1 << 8,
    /// <summary>The client went away before its response was complete.</summary>
    ClientAborted = 1 << 9,
    /// <summary>The request was malformed and refused (400 and the like), nothing forwarded.</summary>
    Malformed = 1 << 10,
    /// <summary>The body was over max_body (413).</summary>
    BodyTooLarge = 1 << 11,
    /// <summary>The client was too slow sending its head or body (408).</summary>
    ClientTimeout = 1 << 12,
    /// <summary>A respond route answered (configured answer, not an error).</summary>
    Responded = 1 << 13,
    /// <summary>The request was sent to more than one server ([retry], or a fresh connection after a stale one).</summary>
    Retried = 1 << 14,
    /// <summary>The response started but could not be finished (the upstream failed mid-body).</summary>
    ResponseTruncated = 1 << 15,
    /// <summary>The connection was upgraded (101) and became a tunnel.</summary>
    Upgraded = 1 << 16,
    /// <summary>A retry was wanted but the upstream's retry budget (budget_percent) refused it.</summary>
    RetryBudgetExhausted = 1 << 17,
}

/// <summary>The wire protocol a request came in on.</summary>
internal enum RequestProtocol : byte
{
    Http1 = 0,
    H2 = 1,
}

internal static class RequestFlagNames
{
    /// <summary>Names for logs, in bit order (a flag's index is its bit).</summary>
    public static readonly string[] Names =
    [
        "no_route", "rate_limited", "auth_refused", "policy_answer", "upstream_timeout", "upstream_reset",
        "upstream_connect_failed", "no_server", "circuit_open", "client_aborted", "malformed", "body_too_large",
        "client_timeout", "responded", "retried", "response_truncated", "upgraded", "retry_budget_exhausted",
    ];
}
