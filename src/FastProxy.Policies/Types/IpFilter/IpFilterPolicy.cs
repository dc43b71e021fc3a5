using FastProxy.Configuration;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.IpFilter;

/// <summary>
/// type = "ip_filter": refuses a client by its resolved address ([client_ip]: the peer, or what trusted proxies said).
/// A denied address is refused even when also allowed; with an allow list, an address not on it is refused. Both
/// lists are <see cref="IpSet"/>s: a binary search over merged ranges, whatever their length, and no allocation.
/// </summary>
internal sealed class IpFilterPolicy : IPolicy
{
    private readonly IpSet _deny;
    private readonly IpSet? _allow;
    private readonly PolicyAnswer _denied;
    private readonly PolicyAnswer _notAllowed;

    public IpFilterPolicy(string name, IpFilterOptions options)
    {
        Name = name;
        _deny = new IpSet(options.Deny);
        _allow = options.Allow is null ? null : new IpSet(options.Allow);
        // The body reads like the proxy's own errors: a status = 404 filter should look like nothing is there.
        string body = $"{options.Status} {Reason(options.Status)}\n";
        _denied = new PolicyAnswer(options.Status, RejectionCounter.For(name, "ip_filter", "denied"), body: body);
        _notAllowed = new PolicyAnswer(options.Status, RejectionCounter.For(name, "ip_filter", "not_allowed"), body: body);
    }

    public string Name { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        var client = context.Client;
        if (!_deny.IsEmpty && _deny.Contains(client)) return new ValueTask<PolicyAnswer?>(_denied);
        if (_allow is not null && !_allow.Contains(client)) return new ValueTask<PolicyAnswer?>(_notAllowed);
        return default;
    }

    private static string Reason(int status) => status switch
    {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        451 => "Unavailable For Legal Reasons",
        _ => "Client Error",
    };
}
