using System.Text;
using FastProxy.Policies.Pipeline;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>The ip_filter policy on the resolved client address: deny wins, an allow list refuses the rest, IPv4 and IPv6.</summary>
public sealed class IpFilterPolicyTests
{
    private const string Request = "GET /x HTTP/1.1\nHost: a";

    private static IPolicy Filter(string keys, string name = "edge") => Load($"[policies.{name}]\ntype = \"ip_filter\"\n{keys}\n", name);

    private static int? Status(IPolicy policy, string client) => Run(policy, Context(Request, client))?.Status;

    [Fact]
    public void Allow_list_lets_in_only_its_blocks()
    {
        var policy = Filter("allow = [\"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\"]");
        Assert.Null(Status(policy, "10.1.2.3"));
        Assert.Null(Status(policy, "::ffff:10.1.2.3"));
        Assert.Null(Status(policy, "192.0.2.7"));
        Assert.Null(Status(policy, "2001:db8:1::5"));
        Assert.Equal(403, Status(policy, "192.0.2.8"));
        Assert.Equal(403, Status(policy, "11.0.0.0"));
        Assert.Equal(403, Status(policy, "2001:db9::1"));
        Assert.Equal(403, Status(policy, "::1"));
        Assert.Equal(403, Status(policy, "::10.1.2.3")); // IPv4-compatible is IPv6, not 10.1.2.3
    }

    [Fact]
    public void Deny_wins_over_allow()
    {
        var policy = Filter("allow = [\"10.0.0.0/8\"]\ndeny = [\"10.6.6.0/24\", \"10.7.7.7\"]");
        Assert.Null(Status(policy, "10.6.5.255"));
        Assert.Equal(403, Status(policy, "10.6.6.0"));
        Assert.Equal(403, Status(policy, "10.6.6.255"));
        Assert.Null(Status(policy, "10.6.7.0"));
        Assert.Equal(403, Status(policy, "10.7.7.7"));
        Assert.Null(Status(policy, "10.7.7.8"));
    }

    [Fact]
    public void Deny_only_lets_in_the_rest()
    {
        var policy = Filter("deny = [\"203.0.113.0/24\", \"2001:db8:bad::/48\"]");
        Assert.Equal(403, Status(policy, "203.0.113.9"));
        Assert.Equal(403, Status(policy, "2001:db8:bad:1::1"));
        Assert.Null(Status(policy, "203.0.114.0"));
        Assert.Null(Status(policy, "2001:db8:bae::1"));
        Assert.Null(Status(policy, "::1"));
    }

    [Fact]
    public void Status_and_body_are_the_configured_ones_and_refusals_are_counted_by_reason()
    {
        var policy = Filter("allow = [\"10.0.0.0/8\"]\ndeny = [\"10.6.6.0/24\"]\nstatus = 404", name: "hide-from-outside");
        var chain = new PolicyChain([policy]);
        var notAllowed = RejectionCounter.For("hide-from-outside", "ip_filter", "not_allowed");
        var denied = RejectionCounter.For("hide-from-outside", "ip_filter", "denied");
        long notAllowedBefore = notAllowed.Count, deniedBefore = denied.Count;

        var answer = Run(chain, Context(Request, "8.8.8.8"))!;
        Assert.Equal(404, answer.Status);
        Assert.Equal("404 Not Found\n", Encoding.ASCII.GetString(answer.Body));
        Assert.Equal(["Content-Type: text/plain; charset=utf-8"], Lines(answer.HeaderLines));
        Assert.NotNull(Run(chain, Context(Request, "10.6.6.6")));
        Assert.NotNull(Run(chain, Context(Request, "10.6.6.7")));
        Assert.Null(Run(chain, Context(Request, "10.0.0.1")));

        Assert.Equal(1, notAllowed.Count - notAllowedBefore);
        Assert.Equal(2, denied.Count - deniedBefore);
    }

    [Fact]
    public void Whole_spaces()
    {
        var everyone = Filter("deny = [\"0.0.0.0/0\", \"::/0\"]");
        Assert.Equal(403, Status(everyone, "0.0.0.0"));
        Assert.Equal(403, Status(everyone, "255.255.255.255"));
        Assert.Equal(403, Status(everyone, "::"));
        Assert.Equal(403, Status(everyone, "2001:db8::1"));
        var onlyV6 = Filter("allow = [\"::/0\"]");
        Assert.Null(Status(onlyV6, "::1"));
        Assert.Equal(403, Status(onlyV6, "127.0.0.1"));
    }

    [Fact]
    public void A_request_costs_no_allocation()
    {
        var policy = Filter("allow = [\"10.0.0.0/8\", \"2001:db8::/32\"]\ndeny = [\"10.6.6.0/24\"]");
        var contexts = new[] { Context(Request, "10.1.1.1"), Context(Request, "10.6.6.6"), Context(Request, "8.8.8.8"), Context(Request, "2001:db8::1") };
        int refused = 0;
        for (int i = 0; i < 1000; i++) refused += Run(policy, contexts[i % 4]) is null ? 0 : 1;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) refused += Sync(policy.OnRequestAsync(contexts[i % 4])) is null ? 0 : 1;
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(5500, refused);
    }
}
