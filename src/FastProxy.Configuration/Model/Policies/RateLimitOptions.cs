using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Validation;

namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "rate_limit": how many requests one key (client address, consumer, route, a header's value,
/// or a combination) may make per period, with a burst; plans give consumers of a tier their own rate; where the state
/// is kept (this process, or a shared Redis) and what happens when that store fails.
/// </summary>
public sealed class RateLimitOptions : PolicyOptions, IConsumerReferences
{
    /// <summary>The parts of the key, in order (at least one). A request is counted against the key they make together.</summary>
    public IReadOnlyList<RateLimitKeyPart> Key { get; init; } = [RateLimitKeyPart.Ip];

    /// <summary>The policy's own rate: requests with no consumer, or a consumer whose plan is not in <see cref="Plans"/>.</summary>
    public required RateLimitRate Rate { get; init; }

    /// <summary>How many requests a key may make at once (the bucket's depth); null: the rate's count.</summary>
    public long? Burst { get; init; }

    /// <summary>A rate per consumer plan ([consumers.NAME] plan = "gold"), in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, RateLimitRate>> Plans { get; init; } = [];

    public RateLimitStoreKind Store { get; init; } = RateLimitStoreKind.Local;

    /// <summary>What a request gets when the store cannot answer (Redis down or slower than [redis] timeout).</summary>
    public RateLimitStoreErrorMode OnStoreError { get; init; } = RateLimitStoreErrorMode.Allow;

    /// <summary>RateLimit-Policy and RateLimit (IETF httpapi draft) on every answer, allowed or refused.</summary>
    public bool Headers { get; init; } = true;

    /// <summary>X-RateLimit-Limit / -Remaining / -Reset as well (what older clients read).</summary>
    public bool LegacyHeaders { get; init; }

    /// <summary>store = "local": the most keys kept; beyond it the least recently used are forgotten.</summary>
    public int MaxKeys { get; init; } = DefaultMaxKeys;

    public const int DefaultMaxKeys = 100_000;

    void IConsumerReferences.Check(LoadContext context, string path, IReadOnlyList<ConsumerConfig> consumers)
    {
        // A plan no consumer has is most likely a misspelt one: its consumers would silently get the default rate.
        foreach (var (plan, _) in Plans)
        {
            bool used = false;
            foreach (var consumer in consumers) used |= string.Equals(consumer.Plan, plan, StringComparison.Ordinal);
            if (!used)
            {
                var known = consumers.Select(c => c.Plan).OfType<string>().Distinct().ToList();
                context.Error(KeyPath.Child(KeyPath.Child(path, "plans"), plan),
                    $"no [consumers.NAME] has plan = \"{plan}\" (plans consumers have: {(known.Count == 0 ? "none" : string.Join(", ", known))})");
            }
        }
    }
}

/// <summary>One part of a rate-limit key.</summary>
public readonly record struct RateLimitKeyPart(RateLimitKeyKind Kind, string? HeaderName = null)
{
    public static readonly RateLimitKeyPart Ip = new(RateLimitKeyKind.Ip);
    public static readonly RateLimitKeyPart Consumer = new(RateLimitKeyKind.Consumer);
    public static readonly RateLimitKeyPart Route = new(RateLimitKeyKind.Route);

    public override string ToString() => Kind switch
    {
        RateLimitKeyKind.Ip => "ip",
        RateLimitKeyKind.Consumer => "consumer",
        RateLimitKeyKind.Route => "route",
        _ => "header:" + HeaderName,
    };
}

public enum RateLimitKeyKind : byte
{
    /// <summary>The resolved client address ([client_ip]).</summary>
    Ip,
    /// <summary>The consumer an authentication policy named (the client address when there is none).</summary>
    Consumer,
    /// <summary>The [[routes]] name: one budget shared by everyone on the route.</summary>
    Route,
    /// <summary>A request header's value (the client address when the header is absent).</summary>
    Header,
}

/// <summary><see cref="Count"/> requests per <see cref="Period"/>.</summary>
public readonly record struct RateLimitRate(long Count, TimeSpan Period)
{
    public override string ToString() => $"{Count}/{Period}";
}

public enum RateLimitStoreKind : byte
{
    /// <summary>In this process: exact, no network, but N processes enforce N times the limit.</summary>
    Local,
    /// <summary>Shared through [redis]: every instance pointing at it enforces one limit.</summary>
    Redis,
}

public enum RateLimitStoreErrorMode : byte
{
    /// <summary>Fail open: the request goes on unlimited.</summary>
    Allow,
    /// <summary>Fail closed: 503.</summary>
    Deny,
}
