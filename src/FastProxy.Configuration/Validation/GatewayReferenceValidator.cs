using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>What listeners say about the gateway holds together: the policies they name exist, PROXY protocol has trusted senders.</summary>
internal static class GatewayReferenceValidator
{
    public static void Check(LoadContext context, List<Located<ListenerConfig>> listeners, List<PolicyConfig> policies,
        List<ConsumerConfig> consumers, ClientIpConfig clientIp)
    {
        var policyNames = policies.Select(p => p.Name).ToList();
        foreach (var (listener, path) in listeners)
        {
            for (var i = 0; i < listener.Policies.Count; i++)
            {
                if (!policyNames.Contains(listener.Policies[i], StringComparer.Ordinal))
                {
                    context.Error(KeyPath.Index(KeyPath.Child(path, "policies"), i),
                        $"no policy named \"{listener.Policies[i]}\" (known: {Suggestions.KnownList(policyNames)})");
                }
            }
            if (listener.ProxyProtocol && clientIp.TrustedProxies.Count == 0)
            {
                // Accepting the header from anyone would let any client claim any address.
                context.Error(KeyPath.Child(path, "proxy_protocol"),
                    "PROXY protocol is accepted only from [client_ip] trusted_proxies, and none are listed");
            }
        }
        foreach (var policy in policies)
        {
            if (policy.Options is IConsumerReferences references) references.Check(context, KeyPath.Child("policies", policy.Name), consumers);
        }
    }
}

/// <summary>Policy options that depend on [consumers] (groups named, passwords needed) check themselves against them.</summary>
internal interface IConsumerReferences
{
    /// <param name="path">The policy's key path, for errors: policies.NAME.</param>
    void Check(LoadContext context, string path, IReadOnlyList<ConsumerConfig> consumers);
}
