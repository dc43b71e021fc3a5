using System.Net;
using FastProxy.Balancing;

namespace FastProxy.Tests.Balancing;

public class AllocationTests
{
    private const int Picks = 100_000;

    private static long AllocatedByPicks(ILoadBalancer balancer)
    {
        Span<ulong> excluded = stackalloc ulong[1];
        int sink = 0;

        // Warm-up: JIT every path (including tiering) before counting.
        for (int i = 0; i < Picks; i++)
        {
            sink += Pick(balancer, excluded, i);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Picks; i++)
        {
            sink += Pick(balancer, excluded, i);
        }

        long after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(sink);
        return after - before;
    }

    /// <summary>Varies the client and, every other pick, excludes a server, so every branch of Pick runs.</summary>
    private static int Pick(ILoadBalancer balancer, Span<ulong> excluded, int i)
    {
        excluded[0] = (i & 1) == 0 ? 0 : 1UL << (i % 3);
        return balancer.Pick(new PickContext { ClientHash = (ulong)i * 0x9E37_79B9_7F4A_7C15, KeyHash = (ulong)i * 0xC2B2_AE3D_27D4_EB4F, Excluded = excluded });
    }

    [Theory]
    [InlineData("round_robin")]
    [InlineData("least_conn")]
    [InlineData("ip_hash")]
    [InlineData("weighted")]
    [InlineData("consistent_hash")]
    [InlineData("p2c")]
    public void Picking_allocates_nothing(string name)
    {
        BalancedServer[] servers = TestServers.WithWeights(5, 1, 1, 3);
        servers[3].IsAvailable = false;

        Assert.Equal(0, AllocatedByPicks(LoadBalancers.Create(name, servers)));
    }

    [Fact]
    public void Least_conn_by_connections_allocates_nothing()
    {
        Assert.Equal(0, AllocatedByPicks(LoadBalancers.Create("least_conn", TestServers.Create(5), LoadMetric.OpenConnections)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void The_trivial_sizes_allocate_nothing(int serverCount)
    {
        Assert.Equal(0, AllocatedByPicks(LoadBalancers.Create("weighted", TestServers.Create(serverCount))));
    }

    [Fact]
    public void Hashing_a_client_address_allocates_nothing()
    {
        IPAddress v4 = IPAddress.Parse("203.0.113.9");
        IPAddress v6 = IPAddress.Parse("2001:db8::9");
        ulong sink = 0;
        for (int i = 0; i < 1000; i++)
        {
            sink ^= ClientAddressHash.Compute(v4) ^ ClientAddressHash.Compute(v6);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < Picks; i++)
        {
            sink ^= ClientAddressHash.Compute(v4) ^ ClientAddressHash.Compute(v6);
        }

        long after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(sink);
        Assert.Equal(0, after - before);
    }
}
