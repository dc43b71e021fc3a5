// p2c: power of two random choices, weighing each candidate by its requests in flight and a decaying average of its
// response times (peak-EWMA, as Finagle's and Linkerd's balancers do). A pick draws two different servers at random
// and takes the one with the lower cost = (average response time + 1 us) x (requests in flight + 1) / weight. Random
// pairs spread concurrent picks (no herd on the one least-loaded server, which least_conn's shared view invites),
// and the cost sends less traffic to a server that answers slowly even while its in-flight count is low: a server
// taking 50 ms where the others take 1 ms loses almost every draw it is part of, but the average decays while it is
// not picked (ResponseTimeAverage), so it is tried again in time and comes back when it is fast again.
// A server that is down or already tried is not drawn; when fewer than two are eligible, the one left is taken.
// Counts and averages live in ServerLoad, shared across server-set changes. Random.Shared is thread-safe without a
// lock (a per-thread generator) and allocates nothing.
// With metric = OpenConnections (tcp listeners) the in-flight term is the open connections and the average is
// whatever HTTP traffic to the same servers recorded (none for a tcp-only upstream: then it is least-connections
// over two random choices).

using System.Diagnostics;

namespace FastProxy.Balancing;

internal sealed class PowerOfTwoChoicesBalancer : ILoadBalancer
{
    /// <summary>Random draws before falling back to a scan: with half the servers out, two draws fail 1 time in 4.</summary>
    private const int Draws = 4;

    private readonly BalancedServer[] _servers;
    private readonly bool _connections;

    public PowerOfTwoChoicesBalancer(BalancedServer[] servers, LoadMetric metric)
    {
        _servers = servers;
        _connections = metric == LoadMetric.OpenConnections;
    }

    public string Name => LoadBalancers.PowerOfTwoChoices;

    public int Pick(in PickContext context)
    {
        BalancedServer[] servers = _servers;
        int count = servers.Length;
        long now = Stopwatch.GetTimestamp();
        int first = -1;
        for (int draw = 0; draw < Draws; draw++)
        {
            int a = Random.Shared.Next(count);
            int b = Random.Shared.Next(count - 1);
            if (b >= a) b++;
            bool aOk = Eligible(servers, a, context), bOk = Eligible(servers, b, context);
            if (aOk && bOk) return Cost(servers[a], now) <= Cost(servers[b], now) ? a : b;
            if (first < 0) first = aOk ? a : bOk ? b : -1;
        }

        // Most servers are out: the cheapest of those left (a scan, rare), or the one eligible server drawn.
        int best = -1;
        double bestCost = 0;
        for (int i = 0; i < count; i++)
        {
            if (!Eligible(servers, i, context)) continue;
            double cost = Cost(servers[i], now);
            if (best < 0 || cost < bestCost)
            {
                best = i;
                bestCost = cost;
            }
        }

        return best >= 0 ? best : first;
    }

    private static bool Eligible(BalancedServer[] servers, int index, in PickContext context)
        => servers[index].IsAvailable && !context.IsExcluded(index);

    private double Cost(BalancedServer server, long now)
    {
        int load = _connections ? server.OpenConnections : server.InFlight;
        return (server.ResponseTimeMicros(now) + 1) * (load + 1) / server.Weight;
    }
}
