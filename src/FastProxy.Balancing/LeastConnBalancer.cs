// least_conn: picks the eligible server with the fewest requests in flight (HTTP) or the fewest open
// connections (L4), chosen by LoadMetric at construction. Servers with equal load take turns: the scan starts
// after the previous pick and keeps the first minimum it meets, so when every count is equal the sequence is
// exactly round_robin's, and concurrent picks that see the same counts still spread instead of all landing
// on one server. Weights are ignored. The counts are read without a lock: a pick may miss a request started
// a moment earlier, which the next pick sees.

namespace FastProxy.Balancing;

internal sealed class LeastConnBalancer : ILoadBalancer
{
    private readonly BalancedServer[] _servers;
    private readonly LoadMetric _metric;
    private RotationCursor _cursor;

    public LeastConnBalancer(BalancedServer[] servers, LoadMetric metric)
    {
        if (!Enum.IsDefined(metric))
        {
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown load metric.");
        }

        _servers = servers;
        _metric = metric;
    }

    public string Name => LoadBalancers.LeastConn;

    public LoadMetric Metric => _metric;

    public int Pick(in PickContext context)
    {
        BalancedServer[] servers = _servers;
        int count = servers.Length;
        bool connections = _metric == LoadMetric.OpenConnections;
        for (int attempt = 1; ; attempt++)
        {
            int start = _cursor.Position;
            int best = -1;
            int bestLoad = 0;
            int index = start;
            for (int scanned = 0; scanned < count; scanned++)
            {
                BalancedServer server = servers[index];
                if (server.IsAvailable && !context.IsExcluded(index))
                {
                    int load = connections ? server.OpenConnections : server.InFlight;
                    if (best < 0 || load < bestLoad)
                    {
                        best = index;
                        bestLoad = load;
                    }
                }

                if (++index == count)
                {
                    index = 0;
                }
            }

            if (best < 0 || _cursor.TryMovePast(start, best, count) || attempt == RotationCursor.MaxAttempts)
            {
                return best;
            }
        }
    }
}
