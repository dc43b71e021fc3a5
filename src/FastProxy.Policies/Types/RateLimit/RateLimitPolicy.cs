using System.Runtime.CompilerServices;
using FastProxy.Configuration;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.RateLimit;

/// <summary>
/// type = "rate_limit": counts each request against its key (client address, consumer, route, a header's value, or
/// several together) under its rule (the consumer's plan, or the policy's own rate), by GCRA in a store (this
/// process, or Redis). Over the limit: 429 with Retry-After; with headers = true every answer, allowed or refused,
/// carries RateLimit-Policy and RateLimit. The synchronous path (the local store) allocates nothing: the key is built
/// on the stack and counted with one compare-and-swap.
/// </summary>
internal sealed partial class RateLimitPolicy : IPolicy
{
    private readonly RateLimitOptions _options;
    private readonly RateLimitKeyBuilder _key;
    private readonly RateLimitRule[] _rules;
    private readonly Dictionary<Consumer, RateLimitRule> _planOf = new(ReferenceEqualityComparer.Instance);
    private readonly RuleHeaders[] _headers;
    private readonly PolicyAnswer _limited;
    private readonly PolicyAnswer _storeDown;

    public RateLimitPolicy(string name, RateLimitOptions options, PolicyBuildContext context)
    {
        Name = name;
        _options = options;
        _key = new RateLimitKeyBuilder(options.Key, digestHeaders: options.Store != RateLimitStoreKind.Local);
        var rules = new List<RateLimitRule> { new(name, 0, options.Rate, options.Burst) };
        foreach (var (plan, rate) in options.Plans) rules.Add(new RateLimitRule(plan, rules.Count, rate, burst: null));
        _rules = [.. rules];
        foreach (var consumer in context.Consumers.All)
        {
            if (consumer.Plan is { } plan && _rules.FirstOrDefault(r => r.Index > 0 && r.Name == plan) is { } rule) _planOf[consumer] = rule;
        }
        _headers = [.. _rules.Select(r => new RuleHeaders(name, r))];
        _limited = new PolicyAnswer(429, RejectionCounter.For(name, "rate_limit", "limited"), body: "429 Too Many Requests\n");
        _storeDown = new PolicyAnswer(503, RejectionCounter.For(name, "rate_limit", "store_error"), body: "503 Service Unavailable\n");
        Store = options.Store switch
        {
            RateLimitStoreKind.Local => KeepLocalStore(context.Previous?.Find(name) as RateLimitPolicy) ?? new LocalRateLimitStore(options.MaxKeys, context.Time),
            _ => context.RemoteRateLimitStores?.For(name, options, _rules)
                ?? throw new PolicyBuildException($"policy \"{name}\": store = \"redis\" needs a [redis] section"),
        };
    }

    public string Name { get; }

    /// <summary>Where the counts are kept (kept across a reload that leaves the policy's key, rules and store alone).</summary>
    public IRateLimitStore Store { get; }

    /// <summary>The previous generation's local store when it counted exactly what this one would: a reload keeps the counts.</summary>
    private LocalRateLimitStore? KeepLocalStore(RateLimitPolicy? previous)
    {
        if (previous?.Store is not LocalRateLimitStore store || store.MaxKeys != _options.MaxKeys) return null;
        if (!previous._options.Key.SequenceEqual(_options.Key) || previous._rules.Length != _rules.Length) return null;
        for (int i = 0; i < _rules.Length; i++)
        {
            if (!_rules[i].SameAs(previous._rules[i])) return null;
        }
        return store;
    }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        var rule = context.Consumer is { } consumer && _planOf.Count > 0 && _planOf.TryGetValue(consumer, out var plan) ? plan : _rules[0];
        Span<byte> buffer = stackalloc byte[_key.MaxLength];
        var key = _key.Build(context, rule.Index, buffer);
        if (Store.TryAcquire(key, rule, out var decision)) return new ValueTask<PolicyAnswer?>(Answer(context, rule, decision));
        var pending = Store.AcquireAsync(key, rule);
        if (pending.IsCompletedSuccessfully) return new ValueTask<PolicyAnswer?>(Answer(context, rule, pending.Result));
        return AnswerLaterAsync(pending, context, rule);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PolicyAnswer?> AnswerLaterAsync(ValueTask<RateLimitDecision> pending, PolicyContext context, RateLimitRule rule)
    {
        RateLimitDecision decision;
        try
        {
            decision = await pending.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A store is not supposed to throw; if one does, it is a store error like any other.
            decision = RateLimitDecision.StoreError;
        }
        return Answer(context, rule, decision);
    }

    private PolicyAnswer? Answer(PolicyContext context, RateLimitRule rule, in RateLimitDecision decision)
    {
        switch (decision.Outcome)
        {
            case RateLimitOutcome.Allowed:
                if (_options.Headers || _options.LegacyHeaders) WriteHeaders(context, rule, decision);
                return null;
            case RateLimitOutcome.Limited:
                if (_options.Headers || _options.LegacyHeaders) WriteHeaders(context, rule, decision);
                Span<byte> seconds = stackalloc byte[20];
                seconds = seconds[..Format(seconds, SecondsUp(decision.RetryAfterMicros))];
                context.AddResponseHeader("retry-after"u8, seconds);
                return _limited;
            default:
                return _options.OnStoreError == RateLimitStoreErrorMode.Deny ? _storeDown : null;
        }
    }
}
