using FastProxy.Configuration;
using FastProxy.Upstreams;

namespace FastProxy.Tests.Upstreams;

/// <summary>The retry budget's arithmetic: a share of the live requests, with a floor of three retries in flight.</summary>
public sealed class RetryBudgetTests
{
    [Fact]
    public void At_100_percent_a_burst_of_failures_is_never_refused_a_retry()
    {
        // Every failed exchange has left the servers' in-flight counts (Active is 0 here), yet each request waiting to
        // retry is live: a budget of 100 % must let all of them retry at once.
        var limits = new UpstreamLimits([], null, new RetryConfig { Attempts = 1, BudgetPercent = 100 });
        for (int i = 0; i < 10; i++) Assert.True(limits.TryBeginRetry(), $"retry {i + 1} refused");
    }

    [Fact]
    public void A_small_budget_keeps_the_floor_of_three_and_frees_a_place_when_a_retry_ends()
    {
        var limits = new UpstreamLimits([], null, new RetryConfig { Attempts = 1, BudgetPercent = 0 });
        Assert.True(limits.TryBeginRetry());
        Assert.True(limits.TryBeginRetry());
        Assert.True(limits.TryBeginRetry());
        Assert.False(limits.TryBeginRetry());
        limits.EndRetry();
        Assert.True(limits.TryBeginRetry());
    }
}
