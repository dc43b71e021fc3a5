using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Types.RateLimit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The local store driven directly: GCRA's arithmetic on a clock the test moves, exactness under concurrent
/// requests for one key, keys kept apart, and the bound on keys (a million distinct keys through a small map).
/// </summary>
public sealed class RateLimitStoreTests
{
    private static RateLimitRule Rule(long count, TimeSpan period, long? burst = null, int index = 0) =>
        new("rl", index, new RateLimitRate(count, period), burst);

    private static byte[] Key(string text) => Encoding.ASCII.GetBytes(text);

    [Fact]
    public void Gcra_admits_the_burst_then_one_per_interval_and_says_when_to_come_back()
    {
        var clock = new AuthnClock();
        var store = new LocalRateLimitStore(1000, clock);
        var rule = Rule(100, TimeSpan.FromMinutes(1)); // one per 600 ms, 100 at once
        for (int i = 0; i < 100; i++)
        {
            var d = store.Acquire(Key("a"), rule);
            Assert.True(d.IsAllowed, $"request {i}");
            Assert.Equal(99 - i, d.Remaining);
        }
        var refused = store.Acquire(Key("a"), rule);
        Assert.Equal(RateLimitOutcome.Limited, refused.Outcome);
        Assert.Equal(0, refused.Remaining);
        Assert.Equal(600_000, refused.RetryAfterMicros);
        Assert.Equal(60_000_000, refused.ResetAfterMicros);

        clock.Advance(TimeSpan.FromMilliseconds(599));
        Assert.False(store.Acquire(Key("a"), rule).IsAllowed);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(store.Acquire(Key("a"), rule).IsAllowed);
        Assert.False(store.Acquire(Key("a"), rule).IsAllowed);

        // A minute later the whole burst is back.
        clock.Advance(TimeSpan.FromMinutes(1));
        var fresh = store.Acquire(Key("a"), rule);
        Assert.True(fresh.IsAllowed);
        Assert.Equal(99, fresh.Remaining);
        Assert.Equal(600_000, fresh.ResetAfterMicros);
    }

    [Fact]
    public void A_burst_smaller_than_the_limit_spreads_the_requests()
    {
        var clock = new AuthnClock();
        var store = new LocalRateLimitStore(1000, clock);
        var rule = Rule(60, TimeSpan.FromMinutes(1), burst: 5); // one a second, 5 at once
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => store.Acquire(Key("a"), rule).IsAllowed));
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(3, Enumerable.Range(0, 20).Count(_ => store.Acquire(Key("a"), rule).IsAllowed));
    }

    [Fact]
    public void Keys_and_rules_do_not_share_state_and_long_keys_are_told_apart()
    {
        var store = new LocalRateLimitStore(1000, new AuthnClock());
        var rule = Rule(2, TimeSpan.FromHours(1));
        string longA = new string('x', 300) + "a", longB = new string('x', 300) + "b";
        foreach (var key in new[] { "a", "b", longA, longB })
        {
            Assert.True(store.Acquire(Key(key), rule).IsAllowed);
            Assert.True(store.Acquire(Key(key), rule).IsAllowed);
            Assert.False(store.Acquire(Key(key), rule).IsAllowed, key);
        }
        Assert.Equal(4, store.Count);
    }

    [Fact]
    public async Task Concurrent_requests_for_one_key_are_admitted_exactly_limit_times()
    {
        // Frozen clock: nothing refills, so exactly the burst gets in, however the threads interleave.
        var store = new LocalRateLimitStore(10_000, new AuthnClock());
        var rule = Rule(1000, TimeSpan.FromMinutes(1));
        int admitted = 0;
        var start = new Barrier(4);
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(TimeSpan.FromSeconds(10));
            var key = Key("hot");
            for (int i = 0; i < 5000; i++)
            {
                if (store.Acquire(key, rule).IsAllowed) Interlocked.Increment(ref admitted);
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1000, admitted);
    }

    [Fact]
    public async Task New_keys_arriving_concurrently_with_evictions_never_overshoot()
    {
        // A small map under churn: many threads add keys (evicting others) while each also hammers its own hot key.
        var store = new LocalRateLimitStore(64, new AuthnClock());
        var rule = Rule(50, TimeSpan.FromHours(1));
        var admitted = new int[4];
        var workers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            var hot = Key("hot-" + t);
            Span<byte> cold = stackalloc byte[16];
            for (int i = 0; i < 20_000; i++)
            {
                if (store.Acquire(hot, rule).IsAllowed) admitted[t]++;
                BitConverter.TryWriteBytes(cold, (long)t << 32 | (uint)i);
                store.Acquire(cold[..8], rule);
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(store.Count <= 64);
        // A hot key is kept by CLOCK's second chance while its thread runs; one descheduled long enough can be forgotten
        // and come back with a fresh bucket (the price of a bound), so each got at least its burst, never less.
        Assert.All(admitted, a => Assert.True(a >= 50, $"{a}"));
        // Every key still held answers as its own: the hot keys are refused (their buckets are empty) or fresh.
        foreach (var t in Enumerable.Range(0, 4)) Assert.InRange(store.Acquire(Key("hot-" + t), rule).Remaining, 0, 49);
    }

    [Fact]
    public void A_full_map_forgets_keys_whose_bucket_is_full_again_before_keys_in_use()
    {
        var clock = new AuthnClock();
        var store = new LocalRateLimitStore(16, clock);
        var hourly = Rule(2, TimeSpan.FromHours(1));
        var quick = Rule(1, TimeSpan.FromSeconds(1), index: 1);
        // "limited" used up its budget for the hour; it must survive the churn that follows.
        Assert.True(store.Acquire(Key("limited"), hourly).IsAllowed);
        Assert.True(store.Acquire(Key("limited"), hourly).IsAllowed);
        for (int i = 0; i < 15; i++) store.Acquire(Key("old" + i), quick);
        clock.Advance(TimeSpan.FromSeconds(1)); // the "old" buckets are full again: forgetting them changes nothing
        for (int i = 0; i < 15; i++) store.Acquire(Key("new" + i), quick);
        Assert.Equal(16, store.Count);
        Assert.False(store.Acquire(Key("limited"), hourly).IsAllowed);
    }
}

/// <summary>
/// A million distinct keys through a map of 100,000: the map stays at its bound, adding keys to a full map allocates
/// nothing (measured on this thread), and the heap holds about 82 bytes a key. Alone, as it reads the whole heap.
/// </summary>
[Collection(FastProxy.Tests.Infrastructure.NonParallel.Name)]
public sealed class RateLimitMemoryTests
{
    [Fact]
    public void A_million_distinct_keys_stay_within_max_keys_and_memory_stays_flat()
    {
        GC.Collect();
        long empty = GC.GetTotalMemory(forceFullCollection: true);
        var store = new LocalRateLimitStore(100_000, new AuthnClock());
        var rule = new RateLimitRule("rl", 0, new RateLimitRate(10, TimeSpan.FromMinutes(1)), burst: null);
        Span<byte> key = stackalloc byte[17];
        key[0] = (byte)'4';
        long allocatedWhenFull = 0, heapWhenFull = 0;
        for (int i = 0; i < 1_000_000; i++)
        {
            BitConverter.TryWriteBytes(key[1..], (long)i * 7919);
            Assert.True(store.Acquire(key, rule).IsAllowed);
            if (i == 200_000)
            {
                // The map is full by now: from here on every new key replaces an old one in place.
                Assert.Equal(100_000, store.Count);
                heapWhenFull = GC.GetTotalMemory(forceFullCollection: true);
                allocatedWhenFull = GC.GetAllocatedBytesForCurrentThread();
            }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedWhenFull;
        long heap = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Equal(100_000, store.Count);
        Assert.True(allocated < 10_000, $"{allocated} bytes allocated over 800,000 new keys in a full map");
        Assert.True(heap - heapWhenFull < 2_000_000, $"heap grew by {heap - heapWhenFull} bytes over 800,000 new keys");
        // About 82 bytes a slot (plus 4 a bucket): 100,000 keys in under 10 MB.
        Assert.True(heapWhenFull - empty < 12_000_000, $"the full map holds {heapWhenFull - empty} bytes");
        GC.KeepAlive(store);
    }
}

