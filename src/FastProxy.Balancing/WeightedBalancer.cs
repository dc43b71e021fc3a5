// weighted: smooth weighted round robin, exactly as nginx does it. Each pick adds every eligible server's
// weight to its running "current" value, takes the server with the highest current (the first on ties), and
// subtracts the total weight of the eligible servers from the winner. Over a cycle every server is picked
// in proportion to its weight, and the picks of a heavy server are spread out rather than bunched:
// weights 5, 1, 1 give a a b a c a a, where a plain weighted rotation would give a a a a a b c.
// Servers that are down or already tried take no part in that pick (their current stands still).
// Across a server-set change the servers that stay keep their current (by address) and new ones start at 0, so the
// interleaving goes on rather than restarting with a burst of the heaviest server.

namespace FastProxy.Balancing;

internal sealed class WeightedBalancer : ILoadBalancer, ICarriesState
{
    private readonly BalancedServer[] _servers;
    private readonly int[] _weights;

    // Every pick reads and writes all the currents together, which no single atomic covers; the lock is
    // held for one pass over the servers with no call out, so it is short and rarely contended.
    private readonly Lock _gate = new();

    // long: a pick moves a current by up to the total weight of the upstream, which large weights push past int.
    private readonly long[] _current;

    public WeightedBalancer(BalancedServer[] servers, ILoadBalancer? previous = null)
    {
        _servers = servers;
        _weights = new int[servers.Length];
        for (int i = 0; i < servers.Length; i++)
        {
            _weights[i] = servers[i].Weight;
        }

        _current = new long[servers.Length];
        if (previous is WeightedBalancer old)
        {
            lock (old._gate)
            {
                for (int i = 0; i < servers.Length; i++)
                {
                    int was = CarriedState.IndexOf(old._servers, servers[i].Address);
                    if (was >= 0) _current[i] = old._current[was];
                }
            }
        }
    }

    BalancedServer[] ICarriesState.Servers => _servers;

    int ICarriesState.NextPosition => -1;

    /// <summary>Server <paramref name="index"/>'s running value (for tests of the carried state).</summary>
    internal long CurrentOf(int index)
    {
        lock (_gate) return _current[index];
    }

    public string Name => LoadBalancers.Weighted;

    public int Pick(in PickContext context)
    {
        BalancedServer[] servers = _servers;
        int[] weights = _weights;
        long[] current = _current;
        int count = servers.Length;

        lock (_gate)
        {
            int best = -1;
            long total = 0;
            for (int i = 0; i < count; i++)
            {
                if (!servers[i].IsAvailable || context.IsExcluded(i))
                {
                    continue;
                }

                int weight = weights[i];
                long value = current[i] + weight;
                current[i] = value;
                total += weight;
                if (best < 0 || value > current[best])
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                current[best] -= total;
            }

            return best;
        }
    }
}
