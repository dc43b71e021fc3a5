using FastProxy.Balancing;

namespace FastProxy.Tests.Balancing;

public class ConcurrencyTests
{
    private const int Threads = 4;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Every thread makes <paramref name="picksPerThread"/> picks at once; returns picks per server.</summary>
    private static int[] PickConcurrently(ILoadBalancer balancer, int serverCount, int picksPerThread)
    {
        var counts = new int[Threads, serverCount + 1];
        using var start = new Barrier(Threads);
        var failures = new Exception?[Threads];
        var threads = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int thread = t;
            threads[t] = new Thread(() =>
            {
                try
                {
                    if (!start.SignalAndWait(Deadline))
                    {
                        throw new TimeoutException("The picking threads did not all start.");
                    }

                    var context = default(PickContext);
                    for (int i = 0; i < picksPerThread; i++)
                    {
                        int chosen = balancer.Pick(in context);
                        counts[thread, chosen < 0 ? serverCount : chosen]++;
                    }
                }
                catch (Exception e)
                {
                    failures[thread] = e;
                }
            })
            { IsBackground = true };
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Deadline), "A picking thread did not finish in time.");
        }

        Assert.All(failures, Assert.Null);

        var total = new int[serverCount + 1];
        for (int t = 0; t < Threads; t++)
        {
            for (int s = 0; s <= serverCount; s++)
            {
                total[s] += counts[t, s];
            }
        }

        Assert.Equal(0, total[serverCount]); // no pick failed
        return total[..serverCount];
    }

    [Fact]
    public void Round_robin_across_threads_gives_every_server_the_same_share()
    {
        const int PicksPerThread = 150_000;
        var balancer = new RoundRobinBalancer(TestServers.Create(3));

        int[] perServer = PickConcurrently(balancer, 3, PicksPerThread);

        // The picks form one rotation, so the share is exact but for the rare pick that gave up racing
        // (RotationCursor.MaxAttempts lost compare-exchanges): a few dozen in 600,000 on a 2-core machine.
        foreach (int count in perServer)
        {
            Assert.InRange(count, 200_000 * 0.995, 200_000 * 1.005);
        }
    }

    [Fact]
    public void Round_robin_across_threads_with_a_server_down_stays_close_to_even()
    {
        const int PicksPerThread = 150_000;
        BalancedServer[] servers = TestServers.Create(4);
        servers[1].IsAvailable = false;
        var balancer = new RoundRobinBalancer(servers);

        int[] perServer = PickConcurrently(balancer, 4, PicksPerThread);

        Assert.Equal(0, perServer[1]);
        // c, right after the down server, must not take b's share as well.
        double mean = Threads * PicksPerThread / 3.0;
        foreach (int index in (int[])[0, 2, 3])
        {
            Assert.InRange(perServer[index], mean * 0.995, mean * 1.005);
        }
    }

    [Fact]
    public void Weighted_across_threads_keeps_the_exact_proportions()
    {
        const int PicksPerThread = 7 * 20_000;
        var balancer = new WeightedBalancer(TestServers.WithWeights(5, 1, 1));

        int[] perServer = PickConcurrently(balancer, 3, PicksPerThread);

        // Whole cycles of 7 picks in total: exactly 5:1:1, whichever thread made which pick.
        Assert.Equal([Threads * 100_000, Threads * 20_000, Threads * 20_000], perServer);
    }

    [Fact]
    public void Least_conn_across_threads_with_equal_loads_does_not_herd_onto_one_server()
    {
        // Concurrent picks that all see the same counts must still spread, as round_robin would.
        const int PicksPerThread = 150_000;
        var balancer = new LeastConnBalancer(TestServers.Create(3), LoadMetric.InFlightRequests);

        int[] perServer = PickConcurrently(balancer, 3, PicksPerThread);

        foreach (int count in perServer)
        {
            Assert.InRange(count, 200_000 * 0.995, 200_000 * 1.005);
        }
    }
}
