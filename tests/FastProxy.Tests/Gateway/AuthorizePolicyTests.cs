using FastProxy.Policies.Types.Authorize;
using FastProxy.Tests.Configuration;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>The authorize policy on what earlier policies found: the consumer's groups and a verified token's claims (a test double of IClaims).</summary>
public sealed class AuthorizePolicyTests
{
    private static (AuthorizePolicy Policy, FastProxy.Policies.Pipeline.PolicySet Set) Build(string policy) 
    {
        var set = AuthnTestKit.Build($$"""
            {{ConfigText.Minimal}}
            [consumers.alice]
            groups = ["gold", "admin"]
            [consumers.bob]
            groups = ["free"]
            [consumers.carol]

            [policies.rule]
            type = "authorize"
            {{policy}}
            """);
        return (Policy<AuthorizePolicy>(set, "rule"), set);
    }

    private static FastProxy.Policies.Pipeline.PolicyContext As(FastProxy.Policies.Pipeline.PolicySet set, string? consumer, AuthnClaims? claims = null)
    {
        var context = Request("GET / HTTP/1.1", "Host: api");
        context.Consumer = consumer is null ? null : set.Consumers.ByName(consumer);
        context.Claims = claims;
        return context;
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("bob", false)]
    [InlineData("carol", false)] // no groups at all
    public void Groups_let_on_a_consumer_in_any_of_them(string consumer, bool allowed)
    {
        var (policy, set) = Build("groups = [\"admin\", \"ops\"]");

        var answer = Now(policy, As(set, consumer));

        if (allowed)
        {
            Assert.Null(answer);
            return;
        }
        Assert.Equal(403, answer!.Status);
        Assert.Equal("forbidden", answer.Counter.Reason);
    }

    [Fact]
    public void Claims_must_all_hold_and_a_list_claim_must_contain_the_value()
    {
        var (policy, set) = Build("claims = { scope = \"orders:read\", tenant = \"acme\" }");
        var both = new AuthnClaims(new() { ["scope"] = ["profile", "orders:read"], ["tenant"] = ["acme"] });
        var wrongTenant = new AuthnClaims(new() { ["scope"] = ["orders:read"], ["tenant"] = ["other"] });
        var noScope = new AuthnClaims(new() { ["tenant"] = ["acme"] });

        Assert.Null(Now(policy, As(set, null, both)));
        Assert.Equal("forbidden", Now(policy, As(set, null, wrongTenant))!.Counter.Reason);
        Assert.Equal("forbidden", Now(policy, As(set, null, noScope))!.Counter.Reason);
    }

    [Fact]
    public void A_number_claim_is_compared_as_written()
    {
        var (policy, set) = Build("claims = { level = 3 }");

        Assert.Null(Now(policy, As(set, null, new AuthnClaims(new() { ["level"] = ["3"] }))));
        Assert.NotNull(Now(policy, As(set, null, new AuthnClaims(new() { ["level"] = ["30"] }))));
    }

    [Fact]
    public void Groups_and_claims_together_need_both()
    {
        var (policy, set) = Build("groups = [\"gold\"]\nclaims = { scope = \"write\" }");
        var write = new AuthnClaims(new() { ["scope"] = ["write"] });

        Assert.Null(Now(policy, As(set, "alice", write)));
        Assert.NotNull(Now(policy, As(set, "alice")));            // no claims
        Assert.NotNull(Now(policy, As(set, "bob", write)));       // not gold
        Assert.NotNull(Now(policy, As(set, null, write)));        // no consumer
    }

    [Fact]
    public void Nobody_identified_is_refused_as_unauthenticated()
    {
        var (policy, set) = Build("groups = [\"gold\"]");

        var answer = Now(policy, As(set, null));

        Assert.Equal(403, answer!.Status);
        Assert.Equal("unauthenticated", answer.Counter.Reason);
    }

    [Fact]
    public void Deciding_allocates_nothing()
    {
        var (policy, set) = Build("groups = [\"ops\", \"admin\"]");
        var allowed = As(set, "alice");
        var refused = As(set, "bob");
        for (int i = 0; i < 3; i++) Run();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Run();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Run()
        {
            Assert.Null(policy.OnRequestAsync(allowed).Result);
            Assert.NotNull(policy.OnRequestAsync(refused).Result);
        }
    }
}
