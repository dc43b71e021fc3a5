using FastProxy.Configuration;

namespace FastProxy.Policies.Types.RateLimit;

/// <summary>
/// Where rate-limit state lives: this process (the local store) or a shared server (Redis). The
/// policy builds each request's key into a scratch buffer (never a string) and asks the store to count the request
/// against it under a rule. The key bytes already hold the rule's index, so two rules never share a key's state.
/// One store serves one policy; the policy owns it for the life of its config (and across reloads that keep it).
/// </summary>
public interface IRateLimitStore
{
    /// <summary>
    /// The synchronous path: true when the store decided without waiting (the local store, always; a remote one when it
    /// can answer without a round trip, e.g. while its circuit breaker is open it returns a StoreError decision).
    /// Must not allocate. False: call <see cref="AcquireAsync"/>.
    /// </summary>
    bool TryAcquire(ReadOnlySpan<byte> key, RateLimitRule rule, out RateLimitDecision decision);

    /// <summary>
    /// The asynchronous path (a round trip). <paramref name="key"/> is valid only during the call: an implementation
    /// copies it (e.g. into its command buffer) before it returns. Never throws for store failures: a failure, or an
    /// answer later than the store's timeout, is <see cref="RateLimitDecision.StoreError"/>.
    /// </summary>
    ValueTask<RateLimitDecision> AcquireAsync(ReadOnlySpan<byte> key, RateLimitRule rule);
}

/// <summary>
/// Makes the stores that are not in-process (store = "redis"). The host provides one (through
/// <see cref="Pipeline.PolicyBuildContext.RemoteRateLimitStores"/>) when a [redis] section is configured.
/// </summary>
public interface IRemoteRateLimitStores
{
    /// <param name="policy">The [policies.NAME] name (e.g. a key prefix, and the store-error metric's label).</param>
    /// <param name="rules">The policy's rules, by <see cref="RateLimitRule.Index"/>.</param>
    IRateLimitStore For(string policy, RateLimitOptions options, IReadOnlyList<RateLimitRule> rules);
}
