using System.Net;
using FastProxy.Balancing;

namespace FastProxy.Tests.Balancing;

public class IpHashBalancerTests
{
    private const int Clients = 100_000;

    private static BalancedServer[] Servers(params string[] addresses)
    {
        var servers = new BalancedServer[addresses.Length];
        for (int i = 0; i < addresses.Length; i++)
        {
            servers[i] = new BalancedServer(i, addresses[i]);
        }

        return servers;
    }

    private static BalancedServer[] Servers(int count)
    {
        var addresses = new string[count];
        for (int i = 0; i < count; i++)
        {
            addresses[i] = $"192.168.1.{10 + i}:8080";
        }

        return Servers(addresses);
    }

    private static ulong[] RandomIPv4Clients(int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[4];
        var hashes = new ulong[Clients];
        for (int i = 0; i < hashes.Length; i++)
        {
            random.NextBytes(bytes);
            hashes[i] = ClientAddressHash.Compute(new IPAddress(bytes));
        }

        return hashes;
    }

    private static ulong[] RandomIPv6Clients(int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[16];
        var hashes = new ulong[Clients];
        for (int i = 0; i < hashes.Length; i++)
        {
            random.NextBytes(bytes);
            bytes[0] = 0x20; // global unicast, 2000::/3, as real clients would be
            hashes[i] = ClientAddressHash.Compute(new IPAddress(bytes));
        }

        return hashes;
    }

    private static int[] Assign(ILoadBalancer balancer, ulong[] clients)
    {
        var chosen = new int[clients.Length];
        for (int i = 0; i < clients.Length; i++)
        {
            chosen[i] = balancer.Pick(new PickContext { ClientHash = clients[i] });
        }

        return chosen;
    }

    private static void AssertEvenSpread(int[] chosen, int serverCount)
    {
        var perServer = new int[serverCount];
        foreach (int index in chosen)
        {
            Assert.InRange(index, 0, serverCount - 1);
            perServer[index]++;
        }

        double mean = (double)chosen.Length / serverCount;
        foreach (int count in perServer)
        {
            Assert.InRange(count, mean * 0.95, mean * 1.05);
        }
    }

    [Fact]
    public void The_same_client_always_reaches_the_same_server()
    {
        var balancer = new IpHashBalancer(Servers(5));
        ulong[] clients = RandomIPv4Clients(seed: 1)[..1000];
        int[] first = Assign(balancer, clients);

        for (int round = 0; round < 20; round++)
        {
            Assert.Equal(first, Assign(balancer, clients));
        }

        // An equal balancer (a restart, or another proxy with the same configuration) agrees.
        Assert.Equal(first, Assign(new IpHashBalancer(Servers(5)), clients));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void IPv4_clients_spread_evenly(int serverCount)
    {
        int[] chosen = Assign(new IpHashBalancer(Servers(serverCount)), RandomIPv4Clients(seed: 42));

        AssertEvenSpread(chosen, serverCount);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void IPv6_clients_spread_evenly(int serverCount)
    {
        int[] chosen = Assign(new IpHashBalancer(Servers(serverCount)), RandomIPv6Clients(seed: 43));

        AssertEvenSpread(chosen, serverCount);
    }

    [Fact]
    public void Weighted_servers_take_clients_in_proportion_to_their_weights()
    {
        var servers = TestServers.WithWeights(5, 1, 2);
        int[] chosen = Assign(new IpHashBalancer(servers), RandomIPv4Clients(seed: 44));

        var perServer = new int[3];
        foreach (int index in chosen) perServer[index]++;
        int[] weights = [5, 1, 2];
        for (int i = 0; i < 3; i++)
        {
            double expected = Clients * weights[i] / 8.0;
            Assert.InRange(perServer[i], expected * 0.95, expected * 1.05);
        }

        // Still sticky, and when the heaviest server goes down only its clients move, spread by the others' weights.
        Assert.Equal(chosen, Assign(new IpHashBalancer(TestServers.WithWeights(5, 1, 2)), RandomIPv4Clients(seed: 44)));
        servers[0].IsAvailable = false;
        int[] after = Assign(new IpHashBalancer(servers), RandomIPv4Clients(seed: 44));
        int movedToB = 0, movedToC = 0;
        for (int i = 0; i < chosen.Length; i++)
        {
            if (chosen[i] != 0) Assert.Equal(chosen[i], after[i]);
            else if (after[i] == 1) movedToB++;
            else movedToC++;
        }
        Assert.InRange(movedToC / (double)(movedToB + movedToC), 2 / 3.0 - 0.02, 2 / 3.0 + 0.02);
    }

    [Fact]
    public void Consecutive_addresses_of_one_subnet_spread_evenly()
    {
        // A /15 of consecutive addresses: the low bytes alone must be enough to spread.
        var clients = new ulong[Clients];
        for (int i = 0; i < clients.Length; i++)
        {
            clients[i] = ClientAddressHash.Compute([10, (byte)(i >> 16), (byte)(i >> 8), (byte)i]);
        }

        AssertEvenSpread(Assign(new IpHashBalancer(Servers(3)), clients), 3);
    }

    [Fact]
    public void When_a_server_goes_down_only_its_clients_move_and_they_return_after()
    {
        BalancedServer[] servers = Servers(5);
        var balancer = new IpHashBalancer(servers);
        ulong[] clients = RandomIPv4Clients(seed: 7);
        int[] before = Assign(balancer, clients);

        servers[2].IsAvailable = false;
        int[] during = Assign(balancer, clients);

        var displacedTo = new int[5];
        for (int i = 0; i < clients.Length; i++)
        {
            if (before[i] == 2)
            {
                displacedTo[during[i]]++;
            }
            else
            {
                Assert.Equal(before[i], during[i]);
            }
        }

        // The displaced clients spread over the four others rather than piling onto the next one.
        Assert.Equal(0, displacedTo[2]);
        int displaced = displacedTo.Sum();
        foreach (int other in (int[])[0, 1, 3, 4])
        {
            Assert.InRange(displacedTo[other], displaced / 4 * 0.9, displaced / 4 * 1.1);
        }

        servers[2].IsAvailable = true;
        Assert.Equal(before, Assign(balancer, clients));
    }

    [Fact]
    public void An_excluded_server_falls_back_where_it_would_if_it_were_down()
    {
        BalancedServer[] servers = Servers(4);
        var balancer = new IpHashBalancer(servers);
        ulong[] clients = RandomIPv4Clients(seed: 9)[..2000];
        int[] home = Assign(balancer, clients);

        var retries = new int[clients.Length];
        Span<ulong> excluded = stackalloc ulong[1];
        for (int i = 0; i < clients.Length; i++)
        {
            excluded.Clear();
            PickContext.Exclude(excluded, home[i]);
            retries[i] = balancer.Pick(new PickContext { ClientHash = clients[i], Excluded = excluded });
            Assert.NotEqual(home[i], retries[i]);
            Assert.NotEqual(-1, retries[i]);

            // Deterministic: the same retry picks the same fallback.
            Assert.Equal(retries[i], balancer.Pick(new PickContext { ClientHash = clients[i], Excluded = excluded }));
        }

        for (int down = 0; down < servers.Length; down++)
        {
            servers[down].IsAvailable = false;
            int[] fallback = Assign(balancer, clients);
            for (int i = 0; i < clients.Length; i++)
            {
                if (home[i] == down)
                {
                    Assert.Equal(retries[i], fallback[i]);
                }
            }

            servers[down].IsAvailable = true;
        }
    }

    [Fact]
    public void Removing_a_server_from_the_configuration_moves_only_its_clients()
    {
        ulong[] clients = RandomIPv4Clients(seed: 11);
        string[] five = ["10.1.0.1:80", "10.1.0.2:80", "10.1.0.3:80", "10.1.0.4:80", "10.1.0.5:80"];
        string[] four = ["10.1.0.1:80", "10.1.0.2:80", "10.1.0.4:80", "10.1.0.5:80"];
        int[] before = Assign(new IpHashBalancer(Servers(five)), clients);
        int[] after = Assign(new IpHashBalancer(Servers(four)), clients);

        for (int i = 0; i < clients.Length; i++)
        {
            if (before[i] != 2)
            {
                // Same server, even though its position in the list changed.
                Assert.Equal(five[before[i]], four[after[i]]);
            }
        }
    }

    [Fact]
    public void Adding_a_server_moves_about_one_client_in_n_and_only_to_the_new_server()
    {
        ulong[] clients = RandomIPv4Clients(seed: 13);
        int[] before = Assign(new IpHashBalancer(Servers(4)), clients);
        int[] after = Assign(new IpHashBalancer(Servers(5)), clients);

        int moved = 0;
        for (int i = 0; i < clients.Length; i++)
        {
            if (before[i] != after[i])
            {
                Assert.Equal(4, after[i]);
                moved++;
            }
        }

        Assert.InRange(moved, Clients / 5 * 0.95, Clients / 5 * 1.05);
    }

    [Fact]
    public void Servers_listed_twice_both_take_clients()
    {
        int[] chosen = Assign(new IpHashBalancer(Servers("10.2.0.1:80", "10.2.0.1:80", "10.2.0.2:80")), RandomIPv4Clients(seed: 17));

        AssertEvenSpread(chosen, 3);
    }

    [Fact]
    public void Returns_minus_one_when_no_server_is_eligible()
    {
        BalancedServer[] servers = Servers(3);
        var balancer = new IpHashBalancer(servers);

        Assert.Equal(-1, TestServers.PickExcluding(balancer, 0, 1, 2));

        foreach (BalancedServer server in servers)
        {
            server.IsAvailable = false;
        }

        Assert.Equal(-1, balancer.Pick(new PickContext { ClientHash = 12345 }));
    }
}
