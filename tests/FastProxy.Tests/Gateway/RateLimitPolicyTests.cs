using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.RateLimit;
using FastProxy.Tests.Configuration;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// rate_limit as the chain runs it, on requests made into a PolicyContext: keys (ip, consumer, header, route), plans,
/// the answer and its fields, and counts kept across a reload.
/// </summary>
public sealed class RateLimitPolicyTests
{
    private static string Config(string body, string consumers = "") =>
        ConfigText.Minimal + "\npolicies = [\"rl\"]\n\n[policies.rl]\ntype = \"rate_limit\"\n" + body + "\n" + consumers;

    private static PolicySet Build(string body, string consumers = "", PolicySet? previous = null, TimeProvider? time = null) =>
        new(ConfigText.Load(Config(body, consumers)), AuthnNoOutboundHttp.Instance, time ?? new AuthnClock(), previous: previous);

    private static IPolicy Policy(PolicySet set) => set.Policies.Single(p => p.Name == "rl");

    /// <summary>How many of <paramref name="count"/> requests built by <paramref name="request"/> the policy lets through.</summary>
    private static int Admitted(IPolicy policy, int count, Func<PolicyContext> request)
    {
        int admitted = 0;
        for (int i = 0; i < count; i++)
        {
            if (Run(policy, request()) is null) admitted++;
        }
        return admitted;
    }

    [Fact]
    public void Over_the_limit_is_429_with_retry_after_and_the_ietf_fields_on_every_answer()
    {
        var policy = Policy(Build("rate = \"3/m\""));
        for (int i = 0; i < 3; i++)
        {
            var context = Context("GET / HTTP/1.1\nHost: a");
            Assert.Null(Run(policy, context));
            // After the first request the bucket is full again in 20 s (one per 20 s), after the third in 60 s.
            Assert.Equal(["ratelimit-policy: \"rl\";q=3;w=60", $"ratelimit: \"rl\";r={2 - i};t={20 * (i + 1)}"], Lines(context.ResponseLines));
        }
        var refused = Context("GET / HTTP/1.1\nHost: a");
        var answer = Run(policy, refused);
        Assert.NotNull(answer);
        Assert.Equal(429, answer.Status);
        Assert.Equal("429 Too Many Requests\n", System.Text.Encoding.ASCII.GetString(answer.Body));
        Assert.Equal(("rl", "rate_limit", "limited"), (answer.Counter.Policy, answer.Counter.Type, answer.Counter.Reason));
        Assert.Equal(["ratelimit-policy: \"rl\";q=3;w=60", "ratelimit: \"rl\";r=0;t=20", "retry-after: 20"], Lines(refused.ResponseLines));
    }

    [Fact]
    public void Legacy_fields_alone_when_asked()
    {
        var policy = Policy(Build("rate = \"10/s\"\nheaders = false\nlegacy_headers = true"));
        var context = Context("GET / HTTP/1.1\nHost: a");
        Assert.Null(Run(policy, context));
        Assert.Equal(["x-ratelimit-limit: 10", "x-ratelimit-remaining: 9", "x-ratelimit-reset: 1"], Lines(context.ResponseLines));
        var quiet = Policy(Build("rate = \"10/s\"\nheaders = false"));
        var none = Context("GET / HTTP/1.1\nHost: a");
        Assert.Null(Run(quiet, none));
        Assert.Empty(Lines(none.ResponseLines));
    }

    [Fact]
    public void Per_ip_clients_have_their_own_budgets()
    {
        var policy = Policy(Build("rate = \"2/h\""));
        Assert.Equal(2, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a", client: "192.0.2.1")));
        Assert.Equal(2, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a", client: "192.0.2.2")));
        Assert.Equal(2, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a", client: "2001:db8::1")));
        Assert.Equal(0, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a", client: "192.0.2.1")));
    }

    [Fact]
    public void Per_header_values_have_their_own_budgets_and_a_missing_header_counts_the_client()
    {
        var policy = Policy(Build("rate = \"2/h\"\nkey = \"header:x-tenant\""));
        Assert.Equal(2, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a\nX-Tenant: one")));
        Assert.Equal(2, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a\nX-Tenant: two")));
        Assert.Equal(2, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a", client: "192.0.2.9")));
        Assert.Equal(2, Admitted(policy, 5, () => Context("GET / HTTP/1.1\nHost: a", client: "192.0.2.10")));
    }

    [Fact]
    public void Per_consumer_with_plans_gold_free_and_the_default_for_anonymous_clients()
    {
        var set = Build("rate = \"2/h\"\nkey = \"consumer\"\nplans = { gold = \"10/h\", free = \"3/h\" }",
            "[consumers.alice]\nplan = \"gold\"\n[consumers.bob]\nplan = \"free\"\n[consumers.carol]\nplan = \"free\"\n[consumers.dave]\n");
        var policy = Policy(set);
        PolicyContext As(string? consumer, string client = "192.0.2.1")
        {
            var context = Context("GET / HTTP/1.1\nHost: a", client);
            context.Consumer = consumer is null ? null : set.Consumers.ByName(consumer);
            return context;
        }
        Assert.Equal(10, Admitted(policy, 20, () => As("alice")));
        Assert.Equal(3, Admitted(policy, 20, () => As("bob")));
        Assert.Equal(3, Admitted(policy, 20, () => As("carol")));  // same plan, own budget
        Assert.Equal(2, Admitted(policy, 20, () => As("dave")));   // no plan: the policy's own rate
        Assert.Equal(2, Admitted(policy, 20, () => As(null)));     // anonymous: by address
        Assert.Equal(2, Admitted(policy, 20, () => As(null, "192.0.2.2")));
        var gold = As("alice");
        Run(policy, gold);
        Assert.Contains("ratelimit-policy: \"rl.gold\";q=10;w=3600", Lines(gold.ResponseLines));
    }

    [Fact]
    public void A_route_key_is_one_budget_for_everyone_on_the_route()
    {
        var policy = Policy(Build("rate = \"3/h\"\nkey = \"route\""));
        Assert.Equal(3, Admitted(policy, 3, () => Context("GET / HTTP/1.1\nHost: a", client: "192.0.2.1")));
        Assert.Equal(0, Admitted(policy, 3, () => Context("GET / HTTP/1.1\nHost: a", client: "192.0.2.2")));
    }

    [Fact]
    public void A_reload_that_keeps_the_rule_keeps_the_counts_and_one_that_changes_it_starts_afresh()
    {
        var clock = new AuthnClock();
        var first = Build("rate = \"2/h\"", time: clock);
        Assert.Equal(2, Admitted(Policy(first), 3, () => Context("GET / HTTP/1.1\nHost: a")));
        var same = Build("rate = \"2/h\"\nheaders = false", previous: first, time: clock);
        Assert.Same(((RateLimitPolicy)Policy(first)).Store, ((RateLimitPolicy)Policy(same)).Store);
        Assert.Equal(0, Admitted(Policy(same), 3, () => Context("GET / HTTP/1.1\nHost: a")));
        var changed = Build("rate = \"5/h\"", previous: same, time: clock);
        Assert.Equal(5, Admitted(Policy(changed), 6, () => Context("GET / HTTP/1.1\nHost: a")));
    }
}
