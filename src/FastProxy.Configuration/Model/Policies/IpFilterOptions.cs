namespace FastProxy.Configuration;

/// <summary>[policies.NAME] type = "ip_filter": who may come in, by the resolved client address ([client_ip]).</summary>
public sealed class IpFilterOptions : PolicyOptions
{
    /// <summary>Null: no allow list (everyone not denied comes in). Otherwise only these blocks come in.</summary>
    public IReadOnlyList<CidrBlock>? Allow { get; init; }

    /// <summary>Refused even when also allowed (deny wins).</summary>
    public IReadOnlyList<CidrBlock> Deny { get; init; } = [];

    /// <summary>The status a refused client gets (a 4xx).</summary>
    public int Status { get; init; } = 403;
}
