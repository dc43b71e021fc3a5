namespace FastProxy.Policies.Types.RateLimit;

/// <summary>What a store decided for one request: admitted or refused, what is left, and when.</summary>
public readonly struct RateLimitDecision
{
    private RateLimitDecision(RateLimitOutcome outcome, long remaining, long retryAfterMicros, long resetAfterMicros)
    {
        Outcome = outcome;
        Remaining = remaining;
        RetryAfterMicros = retryAfterMicros;
        ResetAfterMicros = resetAfterMicros;
    }

    public RateLimitOutcome Outcome { get; }
    public bool IsAllowed => Outcome == RateLimitOutcome.Allowed;
    /// <summary>Requests the key may still make at once (after this one, when admitted).</summary>
    public long Remaining { get; }
    /// <summary>Refused: how long until one request would be admitted. 0 when admitted.</summary>
    public long RetryAfterMicros { get; }
    /// <summary>How long until the key's bucket is full again (its whole burst available).</summary>
    public long ResetAfterMicros { get; }

    public static RateLimitDecision Allowed(long remaining, long resetAfterMicros) =>
        new(RateLimitOutcome.Allowed, remaining, 0, resetAfterMicros);

    public static RateLimitDecision Limited(long remaining, long retryAfterMicros, long resetAfterMicros) =>
        new(RateLimitOutcome.Limited, remaining, retryAfterMicros, resetAfterMicros);

    /// <summary>The store could not answer (down, too slow, its breaker open): the policy's on_store_error decides.</summary>
    public static RateLimitDecision StoreError => new(RateLimitOutcome.StoreError, 0, 0, 0);
}

public enum RateLimitOutcome : byte
{
    Allowed,
    Limited,
    StoreError,
}
