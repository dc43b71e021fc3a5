// ip_hash: rendezvous (highest random weight) hashing of the client's address. Every server gets a score
// mixed from the client hash and the server's own seed; the eligible server with the highest score wins.
// So a client keeps its server while the set and availability do not change; the spread is even because
// each server is equally likely to score highest; when a server goes down or has been tried, its clients
// (and only they) fall back to their next-highest server, which is the same for every pick; when it comes
// back they return. The seed comes from the server's address, not its position, so a reload that adds or
// removes a server moves only about 1/n of the clients and proxy instances sharing a configuration agree.
// A pick costs one multiply-xorshift mix per server: no table to rebuild when availability changes.

namespace FastProxy.Balancing;

internal sealed class IpHashBalancer : ILoadBalancer
{
    private readonly BalancedServer[] _servers;
    private readonly ulong[] _seeds;

    public IpHashBalancer(BalancedServer[] servers)
    {
        _servers = servers;
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
}
