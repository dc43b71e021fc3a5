// ip_hash: rendezvous (highest random weight) hashing of the client's address. Every server gets a score
// mixed from the client hash and the server's own seed; the eligible server with the highest score wins.
// So a client keeps its server while the set and availability do not change; the spread is even because
// each server is equally likely to score highest; when a server goes down or has been tried, its clients
// (and only they) fall back to their next-highest server, which is the same for every pick; when it comes
// back they return. The seed comes from the server's address, not its position, so a reload that adds or
// removes a server moves only about 1/n of the clients and proxy instances sharing a configuration agree.
// A pick costs one multiply-xorshift mix per server: no table to rebuild when availability changes.
// Weights: when they differ, each score becomes weight / -ln(u), u the mixed hash as a number in (0, 1)
// (weighted rendezvous hashing), so a server of weight w wins for w / total of the clients and every property
// above still holds; with equal weights the plain integer comparison is used (it orders servers the same way).

namespace FastProxy.Balancing;

internal sealed class IpHashBalancer : ILoadBalancer
{
    private readonly BalancedServer[] _servers;
    private readonly ulong[] _seeds;
    private readonly bool _weighted;

    public IpHashBalancer(BalancedServer[] servers)
    {
        _servers = servers;
        foreach (var server in servers) _weighted |= server.Weight != servers[0].Weight;
        _seeds = new ulong[servers.Length];
        for (int i = 0; i < servers.Length; i++)
        {
            ulong seed = ClientAddressHash.Compute(servers[i].Address.AsSpan());

            // Two servers with one seed would always tie and the second would never be chosen; a listed
            // duplicate address still gets a seed of its own, derived deterministically from the first.
            while (_seeds.AsSpan(0, i).Contains(seed))
            {
                seed = ClientAddressHash.Mix(seed + 0x9E37_79B9_7F4A_7C15);
            }

            _seeds[i] = seed;
        }
    }

    public string Name => LoadBalancers.IpHash;

    public int Pick(in PickContext context)
    {
        BalancedServer[] servers = _servers;
        ulong[] seeds = _seeds;
        ulong client = context.ClientHash;

        if (_weighted) return PickWeighted(context);
        int best = -1;
        ulong bestScore = 0;
        // Both bounds in the condition let the JIT drop the range checks on both arrays (same length).
        for (int i = 0; i < servers.Length && i < seeds.Length; i++)
        {
            if (!servers[i].IsAvailable || context.IsExcluded(i))
            {
                continue;
            }

            ulong score = ClientAddressHash.Mix(client ^ seeds[i]);
            if (best < 0 || score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }

        return best;
    }

    private int PickWeighted(in PickContext context)
    {
        BalancedServer[] servers = _servers;
        ulong[] seeds = _seeds;
        ulong client = context.ClientHash;

        int best = -1;
        double bestScore = 0;
        for (int i = 0; i < servers.Length && i < seeds.Length; i++)
        {
            if (!servers[i].IsAvailable || context.IsExcluded(i))
            {
                continue;
            }

            // The top 53 bits as a double in (0, 1): never 0, so the logarithm is finite and negative.
            double u = ((ClientAddressHash.Mix(client ^ seeds[i]) >> 11) + 0.5) * (1.0 / (1UL << 53));
            double score = servers[i].Weight / -Math.Log(u);
            if (best < 0 || score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }

        return best;
    }
}
