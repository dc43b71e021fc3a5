namespace FastProxy.Configuration.Validation;

/// <summary>The registry of policy kinds: a type not listed here is refused rather than silently ignored.</summary>
internal static class PolicyTypes
{
    public static readonly IReadOnlyList<IPolicyType> All =
    [
        // Access control (issue 14). Keep in the order docs/configuration.md describes them.
        new Policies.IpFilterPolicyType(),
        new Policies.CorsPolicyType(),
        new Policies.ApiKeyPolicyType(),
        new Policies.BasicAuthPolicyType(),
        new Policies.JwtPolicyType(),
        new Policies.ForwardAuthPolicyType(),
        new Policies.AuthorizePolicyType(),
        new Policies.HeadersPolicyType(),
        // Traffic (issue 16).
        new Policies.RateLimitPolicyType(),
        // Transformation and validation (issue 17).
        new Policies.ValidatePolicyType(),
        new Policies.RewritePolicyType(),
        new Policies.VersionPolicyType(),
        new Policies.MockPolicyType(),
        new Policies.ErrorPagesPolicyType(),
        new Policies.JsonBodyPolicyType(),
        new Policies.AggregatePolicyType(),
        new Policies.RedirectPolicyType(),
        // Issue 18.
        new Policies.CompressPolicyType(),
        // Caching (issue 18).
        new Policies.CachePolicyType(),
    ];

    public static IPolicyType? Find(string name)
    {
        foreach (var type in All)
        {
            if (string.Equals(type.Name, name, StringComparison.Ordinal)) return type;
        }
        return null;
    }

    public static string KnownList() => All.Count == 0 ? "none yet" : string.Join(", ", All.Select(t => t.Name));
}
