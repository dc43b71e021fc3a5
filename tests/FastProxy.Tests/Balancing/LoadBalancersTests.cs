using FastProxy.Balancing;
using static FastProxy.Tests.Balancing.TestServers;

namespace FastProxy.Tests.Balancing;

public class LoadBalancersTests
{
    [Theory]
    [InlineData("round_robin", typeof(RoundRobinBalancer))]
    [InlineData("least_conn", typeof(LeastConnBalancer))]
    [InlineData("ip_hash", typeof(IpHashBalancer))]
    [InlineData("weighted", typeof(WeightedBalancer))]
    public void Each_name_creates_its_algorithm(string name, Type expected)
    {
        ILoadBalancer balancer = LoadBalancers.Create(name, Create(3));

        Assert.IsType(expected, balancer);
        Assert.Equal(name, balancer.Name);
    }

    [Fact]
    public void Known_names_are_the_proxy_toml_names()
    {
        Assert.Equal(["round_robin", "least_conn", "ip_hash", "weighted", "consistent_hash", "p2c"], LoadBalancers.KnownNames);
        foreach (string name in LoadBalancers.KnownNames)
        {
            Assert.True(LoadBalancers.IsKnown(name));
        }

        Assert.False(LoadBalancers.IsKnown("Round_Robin"));
        Assert.False(LoadBalancers.IsKnown(""));
        Assert.False(LoadBalancers.IsKnown(null));
    }

    [Theory]
    [InlineData("random")]
    [InlineData("RoundRobin")]
    [InlineData("ROUND_ROBIN")]
    [InlineData("")]
    public void An_unknown_name_throws_listing_the_known_names(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => LoadBalancers.Create(name, Create(3)));

        Assert.Equal("name", error.ParamName);
        Assert.Contains($"'{name}'", error.Message);
        foreach (string known in LoadBalancers.KnownNames)
        {
            Assert.Contains(known, error.Message);
        }
    }

    [Fact]
    public void The_metric_reaches_least_conn()
    {
        var l4 = Assert.IsType<LeastConnBalancer>(LoadBalancers.Create("least_conn", Create(3), LoadMetric.OpenConnections));
        var l7 = Assert.IsType<LeastConnBalancer>(LoadBalancers.Create("least_conn", Create(3)));

        Assert.Equal(LoadMetric.OpenConnections, l4.Metric);
        Assert.Equal(LoadMetric.InFlightRequests, l7.Metric);
    }

    [Theory]
    [InlineData("round_robin")]
    [InlineData("least_conn")]
    [InlineData("ip_hash")]
    [InlineData("weighted")]
    public void No_servers_means_no_pick_whatever_the_algorithm(string name)
    {
        ILoadBalancer balancer = LoadBalancers.Create(name, []);

        Assert.IsType<NoServerBalancer>(balancer);
        Assert.Equal(name, balancer.Name);
        Assert.Equal("---", Sequence(balancer, 3));
    }

    [Theory]
    [InlineData("round_robin")]
    [InlineData("least_conn")]
    [InlineData("ip_hash")]
    [InlineData("weighted")]
    public void One_server_is_picked_without_running_the_algorithm_unless_down_or_tried(string name)
    {
        BalancedServer[] servers = WithWeights(3);
        ILoadBalancer balancer = LoadBalancers.Create(name, servers);

        Assert.IsType<SingleServerBalancer>(balancer);
        Assert.Equal(name, balancer.Name);
        Assert.Equal("aaa", Sequence(balancer, 3));
        Assert.Equal(0, balancer.Pick(new PickContext { ClientHash = 99 }));
        Assert.Equal("---", Sequence(balancer, 3, excluded: 0));

        servers[0].IsAvailable = false;
        Assert.Equal("---", Sequence(balancer, 3));
    }

    [Fact]
    public void Servers_must_sit_at_their_own_index()
    {
        BalancedServer[] servers = [new(0, "a:1"), new(2, "c:1"), new(1, "b:1")];

        var error = Assert.Throws<ArgumentException>(() => LoadBalancers.Create("round_robin", servers));
        Assert.Equal("servers", error.ParamName);
        Assert.Throws<ArgumentException>(() => LoadBalancers.Create("round_robin", [new(0, "a:1"), null!]));
        Assert.Throws<ArgumentNullException>(() => LoadBalancers.Create("round_robin", null!));
        Assert.Throws<ArgumentNullException>(() => LoadBalancers.Create(null!, Create(2)));
    }

    [Fact]
    public void The_caller_may_reuse_its_array()
    {
        BalancedServer[] servers = Create(3);
        ILoadBalancer balancer = LoadBalancers.Create("round_robin", servers);

        BalancedServer down = new(1, "elsewhere:1") { IsAvailable = false };
        servers[1] = down;

        Assert.Equal("abcabc", Sequence(balancer, 6));
    }
}
