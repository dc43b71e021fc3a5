// consistent_hash: a hash ring (ketama, as HAProxy's "hash-type consistent" and Envoy's ring_hash). Each server owns
// many points on a 64-bit circle, placed by hashing its address (not its position) with the point's number; a key
// goes to the server owning the first point at or after the key's hash, wrapping around. So:
// - adding a server moves only the keys that land on its new points (about 1/(n+1) of them), all to it;
// - removing one moves only its own keys, each to the owner of its next point; the others stay exactly where they were;
// - proxy instances with the same servers agree, and a reload or a DNS change that keeps an address keeps its keys.
// Weights: a server has PointsPerWeight points per unit of weight, so it owns that share of the circle. A server that
// is down or already tried for this request is passed over by walking on to the next point, so its keys spread over
// the others in proportion to their share and come back when it does. A pick is a binary search over the points
// (log2 of n x 160 x weight steps), no lock and no allocation. The key (client IP, a header, a cookie, the path) is
// hashed by the forwarder into PickContext.KeyHash.

namespace FastProxy.Balancing;

internal sealed class ConsistentHashBalancer : ILoadBalancer
{
    /// <summary>
    /// Points per unit of weight: ketama's 160 leaves each server's share within about 10% of its due (the spread
    /// shrinks with the square root of the points); more costs memory and a search step per doubling.
    /// </summary>
    internal const int PointsPerWeight = 160;

    /// <summary>Caps the ring (12 bytes a point): large weights are scaled down together past this.</summary>
    internal const int MaxPoints = 1 << 20;

    private readonly BalancedServer[] _servers;
    private readonly ulong[] _points;
    private readonly int[] _owners;

    public ConsistentHashBalancer(BalancedServer[] servers)
    {
        _servers = servers;
        long totalWeight = 0;
        foreach (var server in servers) totalWeight += server.Weight;
        double scale = Math.Min(1.0, (double)MaxPoints / (totalWeight * PointsPerWeight));

        var points = new List<(ulong Point, int Owner)>();
        for (int i = 0; i < servers.Length; i++)
        {
            int count = Math.Max(1, (int)(servers[i].Weight * PointsPerWeight * scale));
            // The address's hash as the seed: the points follow the server wherever it sits in the list.
            ulong seed = ClientAddressHash.Compute(servers[i].Address.AsSpan());
            for (int p = 0; p < count; p++)
            {
                points.Add((ClientAddressHash.Mix(seed + (ulong)p * 0x9E37_79B9_7F4A_7C15), i));
            }
        }

        // Ties (two points equal, or a listed duplicate address) go to the lower position, so the order is stable.
        points.Sort((a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : a.Owner.CompareTo(b.Owner));
        _points = new ulong[points.Count];
        _owners = new int[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            _points[i] = points[i].Point;
            _owners[i] = points[i].Owner;
        }
    }

    public string Name => LoadBalancers.ConsistentHash;

    /// <summary>The server owning the key's point, ignoring availability (for tests of the remapping).</summary>
    internal int Owner(ulong keyHash) => _owners[FirstAtOrAfter(keyHash)];

    public int Pick(in PickContext context)
    {
        BalancedServer[] servers = _servers;
        int[] owners = _owners;
        int at = FirstAtOrAfter(context.KeyHash);
        int owner = owners[at];
        if (servers[owner].IsAvailable && !context.IsExcluded(owner)) return owner;

        // Passed over: make sure somebody can take it before walking (the walk would otherwise go all the way round).
        bool any = false;
        for (int i = 0; i < servers.Length; i++)
        {
            if (servers[i].IsAvailable && !context.IsExcluded(i))
            {
                any = true;
                break;
            }
        }

        if (!any) return -1;
        while (true)
        {
            if (++at == owners.Length) at = 0;
            owner = owners[at];
            if (servers[owner].IsAvailable && !context.IsExcluded(owner)) return owner;
        }
    }

    /// <summary>The index of the first point at or after <paramref name="hash"/>, wrapping to 0 past the last.</summary>
    private int FirstAtOrAfter(ulong hash)
    {
        ulong[] points = _points;
        int low = 0, high = points.Length;
        while (low < high)
        {
            int middle = (int)((uint)(low + high) >> 1);
            if (points[middle] < hash) low = middle + 1;
            else high = middle;
        }

        return low == points.Length ? 0 : low;
    }
}
