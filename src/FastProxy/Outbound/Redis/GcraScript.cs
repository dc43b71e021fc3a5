using System.Security.Cryptography;
using System.Text;

namespace FastProxy.Outbound.Redis;

/// <summary>
/// The rate-limit check as one Lua script, run by EVALSHA: GCRA on the key's theoretical arrival time (TAT), read,
/// decided and written in one atomic step on the server, so N proxies (or N requests on one) can never both take the
/// last slot. The same arithmetic as the local store's (RateLimitRule.Apply), in microseconds, on Redis's clock
/// (TIME), so proxies whose clocks drift apart still share one limit. An admitted request stores the new TAT with a TTL
/// of the time until the key's bucket is full again (at least 1 ms): a key no one uses disappears exactly when
/// forgetting it changes nothing, and none is ever left without an expiry. A refused request writes nothing.
/// </summary>
/// <remarks>
/// Lua numbers are doubles: microseconds since 1970 (about 1.8e15) are exact below 2^53, and the TAT is written with
/// %d, since tostring would round it to 14 digits. Redis 7 replicates a script's effects, not the script, so calling
/// TIME before writing is allowed (Redis 5 and 6 default to effects replication too).
/// </remarks>
internal static class GcraScript
{
    // KEYS[1]: the key. ARGV[1]: the emission interval T (us). ARGV[2]: the capacity, T x burst (us).
    // Returns {1, ahead, 0} when admitted (ahead: how far the new TAT is ahead of now),
    //         {0, used, retry} when refused (used: how far the TAT is ahead of now; retry: until one request fits).
    public const string Text = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local interval = tonumber(ARGV[1])
        local capacity = tonumber(ARGV[2])
        local tat = tonumber(redis.call('GET', KEYS[1])) or 0
        local start = tat
        if start < now then start = now end
        local ahead = start + interval - now
        if ahead > capacity then
          return {0, start - now, ahead - capacity}
        end
        local ttl = math.ceil(ahead / 1000)
        if ttl < 1 then ttl = 1 end
        redis.call('SET', KEYS[1], string.format('%d', now + ahead), 'PX', string.format('%d', ttl))
        return {1, ahead, 0}
        """;

    /// <summary>SHA-1 of <see cref="Text"/>: what EVALSHA names.</summary>
    public static readonly byte[] Sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(Text));
}

/// <summary>What the script decided: admitted or not, how far ahead the key's bucket reaches, and (refused) when to retry; microseconds.</summary>
internal readonly record struct GcraReply(bool Allowed, long AheadMicros, long RetryMicros);
