using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Authorize;

/// <summary>
/// type = "authorize": the request goes on only when the consumer an earlier policy named is in one of the groups, and
/// the verified claims hold every one of the claims (a list claim must contain the value). Refused with 403 (reason
/// "forbidden"); when nothing before it identified the caller at all (no consumer, no claims: authorize listed before
/// any authentication, which `fastproxy check` warns about) also 403, counted as "unauthenticated". Synchronous, no
/// allocation.
/// </summary>
internal sealed class AuthorizePolicy : IPolicy
{
    private readonly string[] _groups;
    private readonly (byte[] Name, byte[] Value)[] _claims;
    private readonly PolicyAnswer _forbidden;
    private readonly PolicyAnswer _unauthenticated;

    public AuthorizePolicy(string name, AuthorizeOptions options)
    {
        Name = name;
        _groups = [.. options.Groups];
        _claims = [.. options.Claims.Select(c => (Encoding.UTF8.GetBytes(c.Key), Encoding.UTF8.GetBytes(c.Value)))];
        _forbidden = new PolicyAnswer(403, RejectionCounter.For(name, "authorize", "forbidden"), body: "403 Forbidden\n");
        _unauthenticated = new PolicyAnswer(403, RejectionCounter.For(name, "authorize", "unauthenticated"), body: "403 Forbidden\n");
    }

    public string Name { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => new(Decide(context));

    private PolicyAnswer? Decide(PolicyContext context)
    {
        var consumer = context.Consumer;
        var claims = context.Claims;
        if (consumer is null && claims is null) return _unauthenticated;
        if (_groups.Length > 0)
        {
            if (consumer is null || !InAnyGroup(consumer)) return _forbidden;
        }
        if (_claims.Length > 0)
        {
            if (claims is null) return _forbidden;
            foreach (var (name, value) in _claims)
            {
                if (!claims.Contains(name, value)) return _forbidden;
            }
        }
        return null;
    }

    private bool InAnyGroup(Consumers.Consumer consumer)
    {
        foreach (var group in _groups)
        {
            if (consumer.InGroup(group)) return true;
        }
        return false;
    }
}
