using System.Diagnostics;
using FastProxy.Balancing;
using static FastProxy.Tests.Balancing.TestServers;

namespace FastProxy.Tests.Balancing;

public class PowerOfTwoChoicesBalancerTests
{
    [Fact]
    public void A_slow_server_loses_the_draws_it_takes_part_in()
    {
        BalancedServer[] servers = Create(3);
        long now = Stopwatch.GetTimestamp();
        long ms = Stopwatch.Frequency / 1000;
        servers[0].RecordResponseTime(ms, now);
        servers[1].RecordResponseTime(50 * ms, now);
        servers[2].RecordResponseTime(ms, now);
        var balancer = LoadBalancers.Create("p2c", servers);

        var counts = new int[3];
        for (int i = 0; i < 3000; i++) counts[balancer.Pick(default)]++;
        Assert.Equal(0, counts[1]);
        Assert.InRange(counts[0], 1000, 2000);
    }

    [Fact]
    public void Requests_in_flight_count_against_a_server()
    {
        BalancedServer[] servers = Create(2);
        for (int i = 0; i < 5; i++) servers[0].RequestStarted();
        var balancer = LoadBalancers.Create("p2c", servers);
        for (int i = 0; i < 100; i++) Assert.Equal(1, balancer.Pick(default));
    }

    [Fact]
    public void Servers_down_or_tried_are_not_drawn()
    {
        BalancedServer[] servers = Create(4);
        servers[0].IsAvailable = false;
        servers[2].IsAvailable = false;
        var balancer = LoadBalancers.Create("p2c", servers);
        for (int i = 0; i < 200; i++) Assert.Contains(balancer.Pick(default), new[] { 1, 3 });
        for (int i = 0; i < 50; i++) Assert.Equal(3, PickExcluding(balancer, 1));
        Assert.Equal(-1, PickExcluding(balancer, 1, 3));
    }

    [Fact]
    public void The_average_takes_a_slow_response_at_once_and_decays_with_time()
    {
        var server = new BalancedServer(0, "x:1");
        long now = Stopwatch.GetTimestamp();
        long ms = Stopwatch.Frequency / 1000;
        server.RecordResponseTime(ms, now);
        server.RecordResponseTime(50 * ms, now);
        Assert.InRange(server.ResponseTimeMicros(now), 49_999, 50_001);
        // Ten seconds (the decay window) later, untouched: down to 1/e of it.
        Assert.InRange(server.ResponseTimeMicros(now + 10 * Stopwatch.Frequency), 50_000 / Math.E - 10, 50_000 / Math.E + 10);
        // A fast response one window later pulls it most of the way down.
        server.RecordResponseTime(ms, now + 10 * Stopwatch.Frequency);
        Assert.InRange(server.ResponseTimeMicros(now + 10 * Stopwatch.Frequency), 1_000, 50_000 / Math.E + 1_000);
    }
}
