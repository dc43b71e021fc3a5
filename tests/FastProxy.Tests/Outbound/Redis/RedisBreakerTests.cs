using FastProxy.Outbound.Redis;

namespace FastProxy.Tests.Outbound.Redis;

/// <summary>The breaker's states on a clock the test moves: opens after 3 failures in a row, one probe per second, closes on success.</summary>
public sealed class RedisBreakerTests
{
    private long _now = 1_000;

    private RedisBreaker Make() => new("127.0.0.1:6379", () => _now);

    [Fact]
    public void Opens_after_three_failures_in_a_row_and_not_before()
    {
        var breaker = Make();
        for (int i = 0; i < RedisBreaker.FailuresToOpen - 1; i++)
        {
            Assert.True(breaker.TryEnter(out bool probe));
            Assert.False(probe);
            breaker.Failure(probe, "test");
        }
        Assert.False(breaker.IsOpen);
        breaker.Success(false); // a success in between starts the count again
        breaker.Failure(false, "test");
        breaker.Failure(false, "test");
        Assert.False(breaker.IsOpen);
        breaker.Failure(false, "test");
        Assert.True(breaker.IsOpen);
        Assert.Equal(1, breaker.Opens);
        Assert.True(breaker.Refuses);
        Assert.False(breaker.TryEnter(out _));
    }

    [Fact]
    public void An_open_breaker_lets_one_probe_through_per_interval_and_closes_when_it_succeeds()
    {
        var breaker = Make();
        for (int i = 0; i < 3; i++) breaker.Failure(false, "test");
        Assert.True(breaker.IsOpen);

        _now += 999;
        Assert.False(breaker.TryEnter(out _));
        _now += 1;
        Assert.False(breaker.Refuses);
        Assert.True(breaker.TryEnter(out bool probe));
        Assert.True(probe);
        Assert.False(breaker.TryEnter(out _)); // only one probe at a time

        breaker.Failure(probe, "still down");
        Assert.True(breaker.IsOpen);
        Assert.True(breaker.Refuses);
        _now += 1000;
        Assert.True(breaker.TryEnter(out probe));
        Assert.True(probe);
        breaker.Success(probe);
        Assert.False(breaker.IsOpen);
        Assert.True(breaker.TryEnter(out probe));
        Assert.False(probe);
        Assert.Equal(1, breaker.Opens);
    }
}
