using FastProxy.Balancing;
using static FastProxy.Tests.Balancing.TestServers;

namespace FastProxy.Tests.Balancing;

public class RoundRobinBalancerTests
{
    [Fact]
    public void Rotates_in_list_order()
    {
        var balancer = new RoundRobinBalancer(Create(3));

        Assert.Equal("abcabcabcabc", Sequence(balancer, 12));
    }

    [Fact]
    public void Ignores_weights()
    {
        var balancer = new RoundRobinBalancer(WithWeights(5, 1, 1));

        Assert.Equal("abcabc", Sequence(balancer, 6));
    }

    [Fact]
    public void Skips_an_unavailable_server_without_doubling_the_next_one()
    {
        BalancedServer[] servers = Create(3);
        var balancer = new RoundRobinBalancer(servers);
        Assert.Equal("a", Sequence(balancer, 1));

        servers[1].IsAvailable = false;
        // Skipping forward from a ticket (ticket % n) would give c c a c c a: c would take b's share too.
        Assert.Equal("cacaca", Sequence(balancer, 6));

        // Back up: the rotation goes on from where it stands (after a), so b is next.
        servers[1].IsAvailable = true;
        Assert.Equal("bcabca", Sequence(balancer, 6));
    }

    [Fact]
    public void Skips_excluded_servers()
    {
        var balancer = new RoundRobinBalancer(Create(3));

        Assert.Equal("bcbcbc", Sequence(balancer, 6, excluded: 0));
        Assert.Equal("cccc", Sequence(balancer, 4, excluded: [0, 1]));
    }

    [Fact]
    public void A_retry_that_skips_a_server_moves_the_rotation_past_its_choice()
    {
        var balancer = new RoundRobinBalancer(Create(3));

        Assert.Equal("a", Sequence(balancer, 1));
        // The retry would have been b, which it already tried: it takes c, and the rotation goes on after c.
        Assert.Equal(2, PickExcluding(balancer, 1));
        Assert.Equal("abc", Sequence(balancer, 3));
    }

    [Fact]
    public void Returns_minus_one_when_no_server_is_eligible()
    {
        BalancedServer[] servers = Create(3);
        var balancer = new RoundRobinBalancer(servers);

        Assert.Equal("---", Sequence(balancer, 3, excluded: [0, 1, 2]));

        servers[0].IsAvailable = false;
        Assert.Equal("---", Sequence(balancer, 3, excluded: [1, 2]));

        servers[1].IsAvailable = false;
        servers[2].IsAvailable = false;
        Assert.Equal("---", Sequence(balancer, 3));

        servers[2].IsAvailable = true;
        Assert.Equal("ccc", Sequence(balancer, 3));
    }

    [Fact]
    public void Exclusion_reaches_servers_past_the_first_64()
    {
        BalancedServer[] servers = Create(70);
        var balancer = new RoundRobinBalancer(servers);
        for (int i = 0; i < 70; i++)
        {
            if (i != 66)
            {
                servers[i].IsAvailable = false;
            }
        }

        Assert.Equal(66, balancer.Pick(default));
        Assert.Equal(-1, PickExcluding(balancer, 66));
        Assert.Equal(2, PickContext.ExcludedWords(70));
        Assert.Equal(1, PickContext.ExcludedWords(64));
        Assert.Equal(0, PickContext.ExcludedWords(0));
    }
}
