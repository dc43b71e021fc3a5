using FastProxy.Policies.ClientIdentity;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// Requests a policy makes to the configuration's own upstreams (aggregate's parts), through each upstream's real
/// machinery: its pool, balancer, health and outlier state, limits and timeouts, over HTTP/1.1 or h2c/h2 alike. The
/// host implements it per configuration generation; policies never open sockets themselves.
/// </summary>
public interface IUpstreamCalls
{
    /// <summary>True when the configuration has an upstream of that name.</summary>
    bool Has(string upstream);

    /// <summary>
    /// Sends one bodiless request and reads its whole answer, up to <see cref="UpstreamCall.MaxBody"/>. Never throws
    /// for a failure (the outcome says what happened); <paramref name="cancellationToken"/> ends the call early
    /// (<see cref="UpstreamCallOutcome.Canceled"/>) and closes its connection.
    /// </summary>
    ValueTask<UpstreamCallResult> SendAsync(UpstreamCall call, CancellationToken cancellationToken);
}

/// <summary>One request for <see cref="IUpstreamCalls.SendAsync"/>.</summary>
public sealed class UpstreamCall
{
    public required string Upstream { get; init; }
    /// <summary>An upper-case method token ("GET").</summary>
    public required string Method { get; init; }
    /// <summary>The request target, origin-form ("/users/42?x=1"), already encoded: written as it is.</summary>
    public required byte[] PathAndQuery { get; init; }
    /// <summary>Complete field lines, each ending in CRLF, already checked (no CR, LF or NUL in a value); no framing fields, no Host.</summary>
    public byte[] HeaderLines { get; init; } = [];
    /// <summary>The most body bytes taken; more is <see cref="UpstreamCallOutcome.TooLarge"/>.</summary>
    public required int MaxBody { get; init; }
    /// <summary>The whole call (connect, request, answer); the upstream's own request_timeout shortens it.</summary>
    public required TimeSpan Timeout { get; init; }
    /// <summary>The client as [client_ip] resolved it: ip_hash picks by it, and it is sent as X-Forwarded-For.</summary>
    public IpValue Client { get; init; }
}

public enum UpstreamCallOutcome : byte
{
    /// <summary>An answer came, whole (any status: see <see cref="UpstreamCallResult.Status"/>).</summary>
    Answered = 0,
    /// <summary>No server could be used: all down, ejected or drained, or the upstream's limits (max_requests, max_pending) are reached.</summary>
    Unavailable,
    /// <summary>Connecting failed on every server tried.</summary>
    ConnectFailed,
    /// <summary>The call's time ran out.</summary>
    TimedOut,
    /// <summary>The server closed, reset, or sent something that is not HTTP.</summary>
    BadResponse,
    /// <summary>The body is larger than <see cref="UpstreamCall.MaxBody"/>.</summary>
    TooLarge,
    /// <summary>The caller's token ended it (the client went away, or the whole aggregate's time ran out).</summary>
    Canceled,
    /// <summary>No such upstream.</summary>
    UnknownUpstream,
}

/// <summary>What came back: the status, the body (whole, unless the outcome says otherwise), and the field a caller needs.</summary>
/// <param name="Head">The answer's whole head as received (status line and fields), for a caller that reads every field (the cache).</param>
public readonly record struct UpstreamCallResult(UpstreamCallOutcome Outcome, int Status, ReadOnlyMemory<byte> Body, string? ContentType, string? ContentEncoding,
    ReadOnlyMemory<byte> Head = default)
{
    public static UpstreamCallResult Failed(UpstreamCallOutcome outcome) => new(outcome, 0, default, null, null);

    public bool IsSuccess => Outcome == UpstreamCallOutcome.Answered && Status is >= 200 and < 300;
}
