using FastProxy.Balancing;
using static FastProxy.Tests.Balancing.TestServers;

namespace FastProxy.Tests.Balancing;

/// <summary>
/// A balancer built for a new server set (reload, DNS or file discovery) with the old one as <c>previous</c> goes on
/// from the old one's state for the servers that stay, matched by address.
/// </summary>
public class ServerSetChangeTests
{
    /// <summary>Servers at the given addresses (10.0.0.N:8080 for each N), sharing counters with <paramref name="carriedFrom"/> by address.</summary>
    private static BalancedServer[] At(int[] hosts, BalancedServer[]? carriedFrom = null, int[]? weights = null)
    {
        var servers = new BalancedServer[hosts.Length];
        for (int i = 0; i < hosts.Length; i++)
        {
            string address = $"10.0.0.{hosts[i]}:8080";
            BalancedServer? old = carriedFrom?.FirstOrDefault(s => s.Address == address);
            servers[i] = new BalancedServer(i, address, weights?[i] ?? 1, old);
        }

        return servers;
    }

    [Fact]
    public void Round_robin_goes_on_from_where_it_stood_when_a_server_is_added()
    {
        BalancedServer[] abc = At([1, 2, 3]);
        ILoadBalancer before = LoadBalancers.Create("round_robin", abc);
        Assert.Equal("ab", Sequence(before, 2));

        // {A,B,C} -> {A,B,C,D}: C is next, as it was; D then takes its turn before A.
        ILoadBalancer after = LoadBalancers.Create("round_robin", At([1, 2, 3, 4], abc), previous: before);
        Assert.Equal("cdabcd", Sequence(after, 6));

        // Without the previous balancer the rotation restarts at A (what carrying prevents).
        Assert.Equal("abcd", Sequence(LoadBalancers.Create("round_robin", At([1, 2, 3, 4])), 4));
    }

    [Fact]
    public void Round_robin_follows_its_next_server_to_a_new_position_and_skips_one_removed()
    {
        BalancedServer[] abcd = At([1, 2, 3, 4]);
        ILoadBalancer before = LoadBalancers.Create("round_robin", abcd);
        Assert.Equal("a", Sequence(before, 1));

        // B (next) now sits at position 2: the rotation starts there.
        ILoadBalancer moved = LoadBalancers.Create("round_robin", At([4, 3, 2, 1], abcd), previous: before);
        Assert.Equal('c', Letter(moved.Pick(default)));

        // B removed: the next that stays after it in the old order is C.
        ILoadBalancer removed = LoadBalancers.Create("round_robin", At([1, 3, 4], abcd), previous: before);
        Assert.Equal("bca", Sequence(removed, 3));
    }

    [Fact]
    public void Least_conn_keeps_the_counts_of_the_servers_that_stay_and_its_rotation()
    {
        BalancedServer[] abc = At([1, 2, 3]);
        ILoadBalancer before = LoadBalancers.Create("least_conn", abc);
        abc[0].RequestStarted();
        abc[0].RequestStarted();
        abc[1].RequestStarted();

        BalancedServer[] abcd = At([1, 2, 3, 4], abc);
        ILoadBalancer after = LoadBalancers.Create("least_conn", abcd, previous: before);

        Assert.Equal(2, abcd[0].InFlight);
        Assert.Equal(1, abcd[1].InFlight);
        Assert.True(abcd[2].SharesLoadWith(abc[2]));
        Assert.False(abcd[3].SharesLoadWith(abc[2]));

        // C and D are idle; the old generation's requests keep A and B out until they end, in the new count.
        Assert.Equal("cdcd", Sequence(after, 4));
        abc[0].RequestEnded();
        abc[0].RequestEnded();
        abc[1].RequestEnded();
        Assert.Equal(0, abcd[0].InFlight);
        Assert.Equal(0, abcd[1].InFlight);
    }

    [Fact]
    public void Weighted_keeps_its_smooth_state_for_the_servers_that_stay()
    {
        BalancedServer[] abc = At([1, 2, 3], weights: [5, 1, 1]);
        var before = (WeightedBalancer)LoadBalancers.Create("weighted", abc);
        Assert.Equal("aab", Sequence(before, 3));
        long[] was = [before.CurrentOf(0), before.CurrentOf(1), before.CurrentOf(2)];

        var after = (WeightedBalancer)LoadBalancers.Create("weighted", At([1, 2, 3, 4], abc, [5, 1, 1, 1]), previous: before);
        Assert.Equal(was, new[] { after.CurrentOf(0), after.CurrentOf(1), after.CurrentOf(2) });
        Assert.Equal(0, after.CurrentOf(3));

        // Same set again: the sequence goes on exactly as the old one would have (a c a a after a a b).
        var same = LoadBalancers.Create("weighted", At([1, 2, 3], abc, [5, 1, 1]), previous: after);
        var reference = LoadBalancers.Create("weighted", At([1, 2, 3], weights: [5, 1, 1]));
        Assert.Equal(Sequence(reference, 7)[3..], Sequence(same, 4));
    }

    [Fact]
    public void Response_times_are_shared_with_the_previous_generation()
    {
        BalancedServer[] a = At([1]);
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        a[0].RecordResponseTime(System.Diagnostics.Stopwatch.Frequency / 20, now);

        BalancedServer[] again = At([1, 2], a);
        Assert.InRange(again[0].ResponseTimeMicros(now), 49_000, 51_000);
        Assert.Equal(0, again[1].ResponseTimeMicros(now));
    }

    [Theory]
    [InlineData("round_robin")]
    [InlineData("least_conn")]
    [InlineData("ip_hash")]
    [InlineData("weighted")]
    public void Any_previous_is_accepted_whatever_its_algorithm_or_size(string name)
    {
        foreach (string old in LoadBalancers.KnownNames)
        {
            foreach (int size in new[] { 0, 1, 3 })
            {
                ILoadBalancer previous = LoadBalancers.Create(old, Create(size));
                Sequence(previous, 2);
                ILoadBalancer next = LoadBalancers.Create(name, Create(4), previous: previous);
                Assert.DoesNotContain('-', Sequence(next, 8));
            }
        }
    }
}
