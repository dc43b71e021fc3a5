// least_conn: picks the eligible server with the fewest requests in flight (HTTP) or the fewest open
// connections (L4), chosen by LoadMetric at construction. Servers with equal load take turns: the scan starts
// after the previous pick and keeps the first minimum it meets, so when every count is equal the sequence is
// exactly round_robin's, and concurrent picks that see the same counts still spread instead of all landing
// on one server. Weights scale the load as nginx's least_conn does: the server with the lowest load / weight
// wins (compared as load_a * weight_b < load_b * weight_a, no division), so a server of weight 3 carries three
// times the requests of a weight-1 one before it stops being preferred. The counts are read without a lock: a
// pick may miss a request started a moment earlier, which the next pick sees.

namespace FastProxy.Balancing;

internal sealed class LeastConnBalancer : ILoadBalancer, ICarriesState
{
    private readonly BalancedServer[] _servers;
    private readonly LoadMetric _metric;
    private RotationCursor _cursor;

    /// <param name="start">Where the tie-break rotation starts (carried across a server-set change).</param>
    public LeastConnBalancer(BalancedServer[] servers, LoadMetric metric, int start = 0)
    {
        if (!Enum.IsDefined(metric))
        {
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown load metric.");
        }

        _servers = servers;
        _metric = metric;
        _cursor = new RotationCursor(start);
    }

    BalancedServer[] ICarriesState.Servers => _servers;

    int ICarriesState.NextPosition => _cursor.Position;

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
            long bestLoad = 0;
            long bestWeight = 1;
            int index = start;
            for (int scanned = 0; scanned < count; scanned++)
            {
                BalancedServer server = servers[index];
                if (server.IsAvailable && !context.IsExcluded(index))
                {
                    long load = connections ? server.OpenConnections : server.InFlight;
                    long weight = server.Weight;
                    if (best < 0 || load * bestWeight < bestLoad * weight)
                    {
                        best = index;
                        bestLoad = load;
                        bestWeight = weight;
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
