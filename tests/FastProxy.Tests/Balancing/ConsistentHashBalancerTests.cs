using FastProxy.Balancing;

namespace FastProxy.Tests.Balancing;

public class ConsistentHashBalancerTests
{
    private const int Keys = 10_000;

    private static BalancedServer[] Servers(int count, int skip = -1, int[]? weights = null)
    {
        var servers = new List<BalancedServer>();
        for (int i = 0; i < count; i++)
        {
            if (i == skip) continue;
            servers.Add(new BalancedServer(servers.Count, $"10.1.0.{i + 1}:80", weights?[i] ?? 1));
        }

        return [.. servers];
    }

    private static ulong Key(int i) => System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.ASCII.GetBytes($"user-{i}"));

    private static string[] Assign(ILoadBalancer balancer, BalancedServer[] servers)
    {
        var owners = new string[Keys];
        for (int i = 0; i < Keys; i++) owners[i] = servers[balancer.Pick(new PickContext { KeyHash = Key(i) })].Address;
        return owners;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    public void Adding_one_server_of_n_remaps_about_one_in_n_plus_one_keys_all_to_it(int n)
    {
        var before = Servers(n);
        var after = Servers(n + 1);
        string[] was = Assign(LoadBalancers.Create("consistent_hash", before), before);
        string[] now = Assign(LoadBalancers.Create("consistent_hash", after), after);

        int moved = 0;
        for (int i = 0; i < Keys; i++)
        {
            if (was[i] == now[i]) continue;
            moved++;
            Assert.Equal(after[n].Address, now[i]);
        }

        // Ideal: 1/(n+1) of the keys. The ring's 160 points a server keep the share within these bounds.
        double share = (double)moved / Keys;
        Assert.InRange(share, 0.5 / (n + 1), 1.5 / (n + 1));
    }

    [Fact]
    public void Removing_one_server_remaps_only_its_keys()
    {
        var before = Servers(5);
        var after = Servers(5, skip: 2);
        string[] was = Assign(LoadBalancers.Create("consistent_hash", before), before);
        string[] now = Assign(LoadBalancers.Create("consistent_hash", after), after);

        int moved = 0;
        for (int i = 0; i < Keys; i++)
        {
            if (was[i] == before[2].Address) moved++;
            else Assert.Equal(was[i], now[i]);
        }

        Assert.InRange((double)moved / Keys, 0.5 / 5, 1.5 / 5);
    }

    [Fact]
    public void A_server_down_sends_only_its_keys_elsewhere_and_gets_them_back()
    {
        var servers = Servers(4);
        var balancer = LoadBalancers.Create("consistent_hash", servers);
        string[] was = Assign(balancer, servers);

        servers[1].IsAvailable = false;
        string[] down = Assign(balancer, servers);
        for (int i = 0; i < Keys; i++)
        {
            if (was[i] == servers[1].Address) Assert.NotEqual(servers[1].Address, down[i]);
            else Assert.Equal(was[i], down[i]);
        }

        servers[1].IsAvailable = true;
        Assert.Equal(was, Assign(balancer, servers));

        foreach (var server in servers) server.IsAvailable = false;
        Assert.Equal(-1, balancer.Pick(new PickContext { KeyHash = 42 }));
    }

    [Fact]
    public void Shares_follow_weights_and_the_order_of_servers_does_not_matter()
    {
        var servers = Servers(3, weights: [1, 2, 1]);
        var counts = new int[3];
        var balancer = LoadBalancers.Create("consistent_hash", servers);
        for (int i = 0; i < Keys; i++) counts[balancer.Pick(new PickContext { KeyHash = Key(i) })]++;
        Assert.InRange(counts[1], Keys * 0.40, Keys * 0.60);
        Assert.InRange(counts[0], Keys * 0.15, Keys * 0.35);

        // The same addresses in another order: every key goes to the same address.
        BalancedServer[] reversed = [new(0, servers[2].Address, 1), new(1, servers[1].Address, 2), new(2, servers[0].Address, 1)];
        Assert.Equal(Assign(balancer, servers), Assign(LoadBalancers.Create("consistent_hash", reversed), reversed));
    }

    [Fact]
    public void An_excluded_server_is_passed_over()
    {
        var servers = Servers(3);
        var balancer = LoadBalancers.Create("consistent_hash", servers);
        int first = balancer.Pick(new PickContext { KeyHash = 7 });
        Span<ulong> excluded = stackalloc ulong[1];
        PickContext.Exclude(excluded, first);
        int second = balancer.Pick(new PickContext { KeyHash = 7, Excluded = excluded });
        Assert.NotEqual(first, second);
        Assert.True(second >= 0);
    }
}
