using FastProxy.Configuration;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Types;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastProxy.Policies.Pipeline;

/// <summary>What policies are built with: the consumers, the outbound HTTP client, where relative file names start.</summary>
public sealed class PolicyBuildContext
{
    public required ConsumerDirectory Consumers { get; init; }
    public required IOutboundHttp Http { get; init; }
    public required string BaseDirectory { get; init; }
    public TimeProvider Time { get; init; } = TimeProvider.System;
    /// <summary>Where policies log what happens outside a request (a key set fetched or not, ...).</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;
    /// <summary>Makes rate_limit's store = "redis" stores; null when no [redis] is configured.</summary>
    public Types.RateLimit.IRemoteRateLimitStores? RemoteRateLimitStores { get; init; }
    /// <summary>
    /// The configuration's [upstreams] names, in file order: a policy that picks upstreams (version) resolves its names to
    /// indices here once, and hands the index to <see cref="PolicyContext.SelectUpstream"/> per request.
    /// </summary>
    public IReadOnlyList<string> UpstreamNames { get; init; } = [];
    /// <summary>The gateway this one replaces (a reload), so a policy can carry its state over (rate-limit counts); null at start.</summary>
    public PolicySet? Previous { get; init; }
    /// <summary>Requests to the configuration's own upstreams (aggregate's parts); null when the host offers none (unit tests).</summary>
    public IUpstreamCalls? Upstreams { get; init; }
    /// <summary>
    /// Each route that forwards: its name, its upstream and its strip_prefix (the cache revalidates an entry with a
    /// request of its own through <see cref="Upstreams"/>, to the route's upstream).
    /// </summary>
    public IReadOnlyDictionary<string, (string Upstream, string? StripPrefix)> RouteUpstreams { get; init; } =
        new Dictionary<string, (string, string?)>();
}

/// <summary>
/// The gateway of one loaded config: every [policies.NAME] built once, the client-address resolver, the consumers,
/// and the chains routes and listeners run (built on demand at load, shared by equal lists).
/// </summary>
public sealed class PolicySet
{
    private readonly Dictionary<string, IPolicy> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PolicyChain> _chains = new(StringComparer.Ordinal);

    public PolicySet(ProxyConfig config, IOutboundHttp http, TimeProvider? time = null, ILogger? logger = null,
        Types.RateLimit.IRemoteRateLimitStores? remoteRateLimitStores = null, PolicySet? previous = null, IUpstreamCalls? upstreams = null)
    {
        ClientIp = new ClientIpResolver(config.ClientIp);
        Consumers = new ConsumerDirectory(config.Consumers);
        var context = new PolicyBuildContext
        {
            Consumers = Consumers,
            Http = http,
            BaseDirectory = config.BaseDirectory,
            Time = time ?? TimeProvider.System,
            Logger = logger ?? NullLogger.Instance,
            RemoteRateLimitStores = remoteRateLimitStores,
            Previous = previous,
            UpstreamNames = [.. config.Upstreams.Select(u => u.Name)],
            Upstreams = upstreams,
            RouteUpstreams = config.Routes.Where(r => r.Upstream is not null)
                .ToDictionary(r => r.Name, r => (r.Upstream!, r.StripPrefix), StringComparer.Ordinal),
        };
        foreach (var policy in config.Policies)
        {
            _byName[policy.Name] = PolicyKinds.Build(policy, context);
        }
    }

    public ClientIpResolver ClientIp { get; }
    public ConsumerDirectory Consumers { get; }
    public IReadOnlyCollection<IPolicy> Policies => _byName.Values;

    /// <summary>The policy built from [policies.<paramref name="name"/>]; null when there is none.</summary>
    public IPolicy? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The chain for a listener's and a route's policy lists; null when both are empty (nothing to run).</summary>
    public PolicyChain? ChainFor(IReadOnlyList<string> listenerPolicies, IReadOnlyList<string> routePolicies)
    {
        if (listenerPolicies.Count == 0 && routePolicies.Count == 0) return null;
        var key = string.Join('\n', listenerPolicies) + "\n\n" + string.Join('\n', routePolicies);
        if (!_chains.TryGetValue(key, out var chain))
        {
            chain = new PolicyChain(listenerPolicies.Concat(routePolicies).Select(name => _byName[name]));
            _chains[key] = chain;
        }
        return chain;
    }
}

/// <summary>A policy could not be built from a config that passed the check (a key file removed since, unreadable...): the start fails, or the reload is refused.</summary>
public sealed class PolicyBuildException(string message) : Exception(message)
{
}
