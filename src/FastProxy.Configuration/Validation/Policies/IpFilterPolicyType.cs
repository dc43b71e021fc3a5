using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>type = "ip_filter": allow and deny lists of CIDR blocks (IPv4 and IPv6), matched against [client_ip]'s answer.</summary>
internal sealed class IpFilterPolicyType : IPolicyType
{
    public string Name => "ip_filter";

    public IReadOnlyList<string> Keys { get; } = ["allow", "deny", "status"];

    public PolicyOptions? Read(TableReader policy)
    {
        var allow = Cidrs.Read(policy, "allow");
        var deny = Cidrs.Read(policy, "deny");
        if (!policy.Has("allow") && !policy.Has("deny"))
        {
            policy.TableError("an ip_filter needs allow, deny or both (e.g. allow = [\"10.0.0.0/8\"])");
        }
        else if (allow is { Count: 0 } && policy.Raw("allow") is Tomlyn.Model.TomlArray { Count: 0 })
        {
            // An empty list written on purpose would refuse everyone; that is almost always a mistake, and deny says it plainly.
            policy.Error("allow", "an empty allow list lets no one in: leave allow out, or to refuse everyone write deny = [\"0.0.0.0/0\", \"::/0\"]");
        }
        else if (deny is { Count: 0 } && allow is null && policy.Raw("deny") is Tomlyn.Model.TomlArray { Count: 0 })
        {
            policy.Error("deny", "an empty deny list with no allow list filters nothing");
        }
        // 4xx only: the refusal is about the client, and a 5xx would count as the proxy failing (alerts, retries).
        int status = policy.Int("status", 400, 499) ?? 403;
        if (status is 401 or 405 or 407)
        {
            // RFC 9110 §15.5.2, §15.5.6, §15.5.8: these statuses need a header (a challenge, Allow) a filter has nothing to put in.
            policy.Error("status", $"{status} must carry a {(status == 405 ? "list of allowed methods" : "challenge")} that an ip_filter cannot give: use 403 or 404");
            status = 403;
        }
        return new IpFilterOptions { Allow = allow, Deny = deny ?? [], Status = status };
    }
}
