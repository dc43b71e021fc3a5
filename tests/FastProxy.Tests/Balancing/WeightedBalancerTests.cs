using FastProxy.Balancing;
using static FastProxy.Tests.Balancing.TestServers;

namespace FastProxy.Tests.Balancing;

public class WeightedBalancerTests
{
    [Fact]
    public void Weights_5_1_1_give_the_nginx_sequence_for_two_cycles()
    {
        var balancer = new WeightedBalancer(WithWeights(5, 1, 1));

        Assert.Equal("aabacaa" + "aabacaa", Sequence(balancer, 14));
    }

    [Fact]
    public void Weights_3_2_follow_the_nginx_algorithm()
    {
        // current += weight for each server, take the max (first on ties), winner -= total (5):
        //   pick 1: a=3  b=2  -> a, a=-2
        //   pick 2: a=1  b=4  -> b, b=-1
        //   pick 3: a=4  b=1  -> a, a=-1
        //   pick 4: a=2  b=3  -> b, b=-2
        //   pick 5: a=5  b=0  -> a, a=0   (back to 0, 0: the cycle repeats)
        var balancer = new WeightedBalancer(WithWeights(3, 2));

        Assert.Equal("ababa" + "ababa", Sequence(balancer, 10));
    }

    [Fact]
    public void Weights_1_2_3_follow_the_nginx_algorithm()
    {
        // total 6:
        //   1: a=1  b=2  c=3  -> c, c=-3
        //   2: a=2  b=4  c=0  -> b, b=-2
        //   3: a=3  b=0  c=3  -> a (first of the tie), a=-3
        //   4: a=-2 b=2  c=6  -> c, c=0
        //   5: a=-1 b=4  c=3  -> b, b=-2
        //   6: a=0  b=0  c=6  -> c, c=0   (all 0 again)
        var balancer = new WeightedBalancer(WithWeights(1, 2, 3));

        Assert.Equal("cbacbc" + "cbacbc", Sequence(balancer, 12));
    }

    [Fact]
    public void Equal_weights_rotate_like_round_robin()
    {
        var balancer = new WeightedBalancer(WithWeights(2, 2, 2));

        Assert.Equal("abcabc", Sequence(balancer, 6));
    }

    [Fact]
    public void An_unavailable_server_takes_no_part_in_the_pick()
    {
        // Weights 5, 1, 1 with b down: only a (5) and c (1) run, total 6:
        //   1: a=5 c=1 -> a, a=-1
        //   2: a=4 c=2 -> a, a=-2
        //   3: a=3 c=3 -> a (first of the tie), a=-3
        //   4: a=2 c=4 -> c, c=-2
        //   5: a=7 c=-1 -> a, a=1
        //   6: a=6 c=0 -> a, a=0   (a=0, c=0: the cycle repeats)
        BalancedServer[] servers = WithWeights(5, 1, 1);
        servers[1].IsAvailable = false;
        var balancer = new WeightedBalancer(servers);

        Assert.Equal("aaacaa" + "aaacaa", Sequence(balancer, 12));

        // b's current stood still at 0 meanwhile, and the others are back at 0: the full cycle resumes.
        servers[1].IsAvailable = true;
        Assert.Equal("aabacaa", Sequence(balancer, 7));
    }

    [Fact]
    public void Excluded_servers_are_skipped_for_that_pick_only()
    {
        var balancer = new WeightedBalancer(WithWeights(5, 1, 1));

        Assert.Equal("bcbcbc", Sequence(balancer, 6, excluded: 0));
        Assert.Equal("---", Sequence(balancer, 3, excluded: [0, 1, 2]));
    }

    [Fact]
    public void Returns_minus_one_when_every_server_is_down()
    {
        BalancedServer[] servers = WithWeights(5, 1, 1);
        foreach (BalancedServer server in servers)
        {
            server.IsAvailable = false;
        }

        Assert.Equal("---", Sequence(new WeightedBalancer(servers), 3));
    }

    [Fact]
    public void Large_weights_do_not_overflow()
    {
        var balancer = new WeightedBalancer(WithWeights(int.MaxValue, int.MaxValue, 1));

        string picks = Sequence(balancer, 1000);

        Assert.Equal(500, picks.Count(c => c == 'a'));
        Assert.Equal(500, picks.Count(c => c == 'b'));
        Assert.DoesNotContain('-', picks);
    }
}
