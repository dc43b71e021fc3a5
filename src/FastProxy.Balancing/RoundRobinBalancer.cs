// round_robin: each pick takes the next server in list order after the previous pick, skipping the servers
// that are down or already tried for this request, and wraps around. Weights are ignored (weighted is the
// weighted rotation), so over a, b, c the sequence is exactly a, b, c, a, b, c, and with b down a, c, a, c.
// A pick costs one read and one compare-exchange of the shared position, plus a scan only as long as the
// run of ineligible servers it meets.

namespace FastProxy.Balancing;

internal sealed class RoundRobinBalancer : ILoadBalancer, ICarriesState
{
    private readonly BalancedServer[] _servers;
    private RotationCursor _cursor;

    /// <param name="start">Where the rotation starts (carried across a server-set change; see <see cref="CarriedState"/>).</param>
    public RoundRobinBalancer(BalancedServer[] servers, int start = 0)
    {
        _servers = servers;
        _cursor = new RotationCursor(start);
    }

    public string Name => LoadBalancers.RoundRobin;

    BalancedServer[] ICarriesState.Servers => _servers;

    int ICarriesState.NextPosition => _cursor.Position;

    public int Pick(in PickContext context)
    {
        BalancedServer[] servers = _servers;
        int count = servers.Length;
        for (int attempt = 1; ; attempt++)
        {
            int start = _cursor.Position;
            int chosen = -1;
            int index = start;
            for (int scanned = 0; scanned < count; scanned++)
            {
                if (servers[index].IsAvailable && !context.IsExcluded(index))
                {
                    chosen = index;
                    break;
                }

                if (++index == count)
                {
                    index = 0;
                }
            }

            if (chosen < 0 || _cursor.TryMovePast(start, chosen, count) || attempt == RotationCursor.MaxAttempts)
            {
                return chosen;
            }
        }
    }
}
