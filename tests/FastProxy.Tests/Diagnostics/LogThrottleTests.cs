using FastProxy.Diagnostics;

namespace FastProxy.Tests.Diagnostics;

/// <summary>
/// <see cref="LogThrottle"/> on a clock the test sets: one line per interval and kind, the rest counted and reported
/// by the next line or by the heartbeat's flush; lock-free under concurrent failures, allocation-free when it counts.
/// </summary>
public sealed class LogThrottleTests
{
    private const long Start = 1_000_000;

    [Fact]
    public void The_first_failure_is_logged_the_next_ones_counted_and_the_first_after_the_interval_says_how_many()
    {
        var throttle = new LogThrottle();
        Assert.True(throttle.ShouldLog(RepeatedFailure.Connect, Start, out var first));
        Assert.Equal(0, first.Count);
        Assert.Equal("", first.Suffix);

        for (int i = 1; i <= 55; i++) Assert.False(throttle.ShouldLog(RepeatedFailure.Connect, Start + i * 100, out _));
        Assert.False(throttle.ShouldLog(RepeatedFailure.Connect, Start + LogThrottle.IntervalMs - 1, out _));

        Assert.True(throttle.ShouldLog(RepeatedFailure.Connect, Start + LogThrottle.IntervalMs, out var next));
        Assert.Equal(56, next.Count);
        Assert.Equal(" (56 more like this in the last 10s)", next.Suffix);
        // A new interval begins with that line.
        Assert.False(throttle.ShouldLog(RepeatedFailure.Connect, Start + LogThrottle.IntervalMs + 1, out _));
    }

    [Fact]
    public void Kinds_are_throttled_each_on_its_own()
    {
        var throttle = new LogThrottle();
        Assert.True(throttle.ShouldLog(RepeatedFailure.Connect, Start, out _));
        Assert.True(throttle.ShouldLog(RepeatedFailure.Timeout, Start + 1, out _));
        Assert.True(throttle.ShouldLog(RepeatedFailure.Response, Start + 2, out _));
        Assert.False(throttle.ShouldLog(RepeatedFailure.Timeout, Start + 3, out _));
    }

    [Fact]
    public void The_heartbeat_reports_a_count_no_later_failure_reported_once_the_interval_is_over()
    {
        var throttle = new LogThrottle();
        Assert.False(throttle.TryFlush(RepeatedFailure.Connect, Start, out _)); // nothing yet
        Assert.True(throttle.ShouldLog(RepeatedFailure.Connect, Start, out _));
        Assert.False(throttle.TryFlush(RepeatedFailure.Connect, Start + LogThrottle.IntervalMs, out _)); // nothing left out
        for (int i = 0; i < 3; i++) Assert.False(throttle.ShouldLog(RepeatedFailure.Connect, Start + 1 + i, out _));

        Assert.False(throttle.TryFlush(RepeatedFailure.Connect, Start + LogThrottle.IntervalMs - 1, out _)); // still in the interval
        Assert.True(throttle.TryFlush(RepeatedFailure.Connect, Start + 12_400, out var flushed));
        Assert.Equal(3, flushed.Count);
        Assert.Equal(12, flushed.Seconds);
        Assert.False(throttle.TryFlush(RepeatedFailure.Connect, Start + 30_000, out _)); // said once

        // The flush opened an interval of its own: a failure right after it is counted, not written.
        Assert.False(throttle.ShouldLog(RepeatedFailure.Connect, Start + 12_401, out _));
    }

    [Fact]
    public void Concurrent_failures_write_one_line_per_interval_and_count_every_other()
    {
        var throttle = new LogThrottle();
        const int Threads = 4, PerThread = 10_000;
        int written = 0;
        using var go = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(n => new Thread(() =>
        {
            go.SignalAndWait(TimeSpan.FromSeconds(10));
            for (int i = 0; i < PerThread; i++)
            {
                if (throttle.ShouldLog(RepeatedFailure.Connect, Start + 5, out _)) Interlocked.Increment(ref written);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));

        Assert.Equal(1, written);
        Assert.True(throttle.TryFlush(RepeatedFailure.Connect, Start + 5 + LogThrottle.IntervalMs, out var flushed));
        Assert.Equal(Threads * PerThread - 1, flushed.Count);
    }

    [Fact]
    public void Counting_a_failure_allocates_nothing()
    {
        var throttle = new LogThrottle();
        Assert.True(throttle.ShouldLog(RepeatedFailure.Response, Start, out _));
        Assert.False(throttle.ShouldLog(RepeatedFailure.Response, Start + 1, out _)); // warmed up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) throttle.ShouldLog(RepeatedFailure.Response, Start + 2 + i, out _);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_reload_carries_intervals_and_counts_over()
    {
        var old = new LogThrottle();
        Assert.True(old.ShouldLog(RepeatedFailure.Connect, Start, out _));
        Assert.False(old.ShouldLog(RepeatedFailure.Connect, Start + 1, out _));

        var replacement = new LogThrottle();
        replacement.CarryOver(old);
        Assert.False(replacement.ShouldLog(RepeatedFailure.Connect, Start + 2, out _)); // no second line for the reload
        Assert.True(replacement.TryFlush(RepeatedFailure.Connect, Start + LogThrottle.IntervalMs, out var flushed));
        Assert.Equal(2, flushed.Count);
    }
}
