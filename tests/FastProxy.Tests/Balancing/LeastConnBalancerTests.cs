using FastProxy.Balancing;
using static FastProxy.Tests.Balancing.TestServers;

namespace FastProxy.Tests.Balancing;

public class LeastConnBalancerTests
{
    private static void Start(BalancedServer server, int requests)
    {
        for (int i = 0; i < requests; i++)
        {
            server.RequestStarted();
        }
    }

    private static void Open(BalancedServer server, int connections)
    {
        for (int i = 0; i < connections; i++)
        {
            server.ConnectionOpened();
        }
    }

    [Fact]
    public void Picks_the_server_with_the_fewest_requests_in_flight()
    {
        BalancedServer[] servers = Create(3);
        Start(servers[0], 3);
        Start(servers[1], 1);
        Start(servers[2], 2);
        var balancer = new LeastConnBalancer(servers, LoadMetric.InFlightRequests);

        Assert.Equal("bbbb", Sequence(balancer, 4));

        servers[1].RequestStarted();
        servers[1].RequestStarted();
        Assert.Equal("cccc", Sequence(balancer, 4));
    }

    [Fact]
    public void Weights_scale_the_load_as_nginx_does()
    {
        // Weights 3 and 1: a holds 3 requests, b 1; 3/3 = 1/1, a tie, taken in turn from a.
        BalancedServer[] servers = WithWeights(3, 1);
        Start(servers[0], 3);
        Start(servers[1], 1);
        var balancer = new LeastConnBalancer(servers, LoadMetric.InFlightRequests);
        Assert.Equal(0, balancer.Pick(default));

        // a at 4 (4/3 > 1/1): b is preferred; b at 2 (2/1 > 4/3): a again.
        servers[0].RequestStarted();
        Assert.Equal(1, balancer.Pick(default));
        servers[1].RequestStarted();
        Assert.Equal(0, balancer.Pick(default));
    }

    [Fact]
    public void Counting_each_pick_as_a_started_request_follows_the_weights()
    {
        BalancedServer[] servers = WithWeights(5, 1, 2);
        var balancer = new LeastConnBalancer(servers, LoadMetric.InFlightRequests);
        var counts = new int[3];
        for (int i = 0; i < 80; i++)
        {
            int picked = balancer.Pick(default);
            counts[picked]++;
            servers[picked].RequestStarted();
        }

        // Requests held in flight end up in proportion to the weights, 5:1:2 of 80.
        Assert.Equal([50, 10, 20], counts);
    }

    [Fact]
    public void Equal_loads_rotate_exactly_like_round_robin()
    {
        var balancer = new LeastConnBalancer(Create(3), LoadMetric.InFlightRequests);

        Assert.Equal("abcabcabc", Sequence(balancer, 9));
    }

    [Fact]
    public void Ties_among_the_least_loaded_take_turns()
    {
        BalancedServer[] servers = Create(4);
        Start(servers[1], 5);
        Start(servers[3], 1);
        var balancer = new LeastConnBalancer(servers, LoadMetric.InFlightRequests);

        Assert.Equal("acacac", Sequence(balancer, 6));
    }

    [Fact]
    public void Counting_each_pick_as_a_started_request_spreads_the_load_evenly()
    {
        BalancedServer[] servers = Create(3);
        var balancer = new LeastConnBalancer(servers, LoadMetric.InFlightRequests);
        var context = default(PickContext);

        var picks = new char[9];
        for (int i = 0; i < picks.Length; i++)
        {
            int chosen = balancer.Pick(in context);
            servers[chosen].RequestStarted();
            picks[i] = Letter(chosen);
        }

        Assert.Equal("abcabcabc", new string(picks));

        // b's requests complete: b is the least loaded until it has caught up.
        for (int i = 0; i < 3; i++)
        {
            servers[1].RequestEnded();
        }

        for (int i = 0; i < 3; i++)
        {
            int chosen = balancer.Pick(in context);
            Assert.Equal(1, chosen);
            servers[chosen].RequestStarted();
        }
    }

    [Fact]
    public void The_l4_metric_counts_open_connections_not_requests()
    {
        BalancedServer[] servers = Create(3);
        // Opposite orders, so each metric has a different winner.
        Start(servers[0], 0);
        Start(servers[1], 5);
        Start(servers[2], 9);
        Open(servers[0], 9);
        Open(servers[1], 5);
        Open(servers[2], 0);

        var requests = new LeastConnBalancer(servers, LoadMetric.InFlightRequests);
        var connections = new LeastConnBalancer(servers, LoadMetric.OpenConnections);

        Assert.Equal("aaa", Sequence(requests, 3));
        Assert.Equal("ccc", Sequence(connections, 3));

        servers[2].IsAvailable = false;
        Assert.Equal("bbb", Sequence(connections, 3));
    }

    [Fact]
    public void Skips_unavailable_and_excluded_servers_even_when_least_loaded()
    {
        BalancedServer[] servers = Create(3);
        Start(servers[1], 1);
        Start(servers[2], 2);
        var balancer = new LeastConnBalancer(servers, LoadMetric.InFlightRequests);

        Assert.Equal("bbb", Sequence(balancer, 3, excluded: 0));

        servers[0].IsAvailable = false;
        Assert.Equal("bbb", Sequence(balancer, 3));
        Assert.Equal("ccc", Sequence(balancer, 3, excluded: 1));
        Assert.Equal("---", Sequence(balancer, 3, excluded: [1, 2]));
    }

    [Fact]
    public void Rejects_an_undefined_metric()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LeastConnBalancer(Create(2), (LoadMetric)7));
    }
}
