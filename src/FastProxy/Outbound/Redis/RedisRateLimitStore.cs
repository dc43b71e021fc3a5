using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Types.RateLimit;

namespace FastProxy.Outbound.Redis;

/// <summary>
/// rate_limit's store = "redis": every request is one EVALSHA of <see cref="GcraScript"/> on the shared connection,
/// under the key <c>fastproxy:rl:POLICY:</c> followed by the policy's key bytes in lower-case hex (they hold the rule's
/// index, so each plan has its own state, and binary parts such as the client address's 16 bytes: in hex a key
/// prints and scans cleanly in redis-cli). Decides exactly what the local store would (same GCRA, same microseconds) but on Redis's clock
/// and for every proxy at once. A failure, a call later than [redis] timeout, or an open breaker is
/// <see cref="RateLimitDecision.StoreError"/> (the policy's on_store_error decides) and is counted.
/// </summary>
internal sealed class RedisRateLimitStore : IRateLimitStore
{
    public const string KeyPrefix = "fastproxy:rl:";

    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    private readonly RedisConnection _connection;
    private readonly RateLimitStoreCounters _counters;
    private readonly byte[] _prefix;

    public RedisRateLimitStore(RedisConnection connection, string policy)
    {
        _connection = connection;
        _counters = RateLimitStoreCounters.For(policy, connection.Breaker);
        _prefix = Encoding.UTF8.GetBytes(KeyPrefix + policy + ":");
    }

    /// <summary>Decides at once only while the breaker is open and no probe is due: a store error, no round trip, no allocation.</summary>
    public bool TryAcquire(ReadOnlySpan<byte> key, RateLimitRule rule, out RateLimitDecision decision)
    {
        if (_connection.Breaker.Refuses)
        {
            _counters.StoreError();
            decision = RateLimitDecision.StoreError;
            return true;
        }
        decision = default;
        return false;
    }

    public ValueTask<RateLimitDecision> AcquireAsync(ReadOnlySpan<byte> key, RateLimitRule rule)
    {
        // The command keeps the key until Redis answers: it has to be copied off the caller's scratch buffer anyway.
        var full = new byte[_prefix.Length + 2 * key.Length];
        _prefix.CopyTo(full, 0);
        int n = _prefix.Length;
        foreach (var b in key)
        {
            full[n++] = Hex[b >> 4];
            full[n++] = Hex[b & 0xF];
        }
        return new ValueTask<RateLimitDecision>(RunAsync(full, rule));
    }

    private async Task<RateLimitDecision> RunAsync(byte[] key, RateLimitRule rule)
    {
        var reply = await _connection.EvalGcraAsync(key, rule.IntervalMicros, rule.CapacityMicros).ConfigureAwait(false);
        if (reply is not { } r)
        {
            _counters.StoreError();
            return RateLimitDecision.StoreError;
        }
        long remaining = Remaining(rule, r.AheadMicros);
        return r.Allowed
            ? RateLimitDecision.Allowed(remaining, r.AheadMicros)
            : RateLimitDecision.Limited(remaining, r.RetryMicros, r.AheadMicros);
    }

    /// <summary>Requests still admitted at once when the bucket is filled <paramref name="ahead"/> deep (as RateLimitRule computes it).</summary>
    private static long Remaining(RateLimitRule rule, long ahead)
    {
        long free = rule.CapacityMicros - ahead;
        return free <= 0 ? 0 : free / rule.IntervalMicros;
    }
}

/// <summary>What the host gives the gateway for store = "redis": one store per policy on the configuration's connection.</summary>
internal sealed class RedisRateLimitStores(RedisConnection connection) : IRemoteRateLimitStores
{
    public RedisConnection Connection { get; } = connection;

    public IRateLimitStore For(string policy, RateLimitOptions options, IReadOnlyList<RateLimitRule> rules) =>
        new RedisRateLimitStore(Connection, policy);
}
