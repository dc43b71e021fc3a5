using System.Net;
using FastProxy.Balancing;
using FastProxy.Configuration;

namespace FastProxy.Upstreams;

/// <summary>
/// One immutable set of an upstream's servers with what is built over it: the balancer of http requests, the balancer
/// of tcp listeners (least_conn over open connections), and the size of the tried-servers bitset. Discovery replaces
/// the whole set at once (<see cref="Upstream.ApplyServers"/>): a request reads <see cref="Upstream.Set"/> once and
/// uses that set for its pick, its index and its retries, so the request path pays one volatile read for discovery.
/// </summary>
internal sealed class ServerSet
{
    private readonly ServerConfig[] _configs;

    private ServerSet(UpstreamServer[] servers, ServerConfig[] configs, ILoadBalancer balancer, ILoadBalancer tcpBalancer, UpstreamBalancing? balancing)
    {
        Balancing = balancing;
        Servers = servers;
        _configs = configs;
        Balancer = balancer;
        TcpBalancer = tcpBalancer;
        ExclusionWords = PickContext.ExcludedWords(servers.Length);
    }

    public UpstreamServer[] Servers { get; }
    public ILoadBalancer Balancer { get; }
    /// <summary>For tcp listeners: the same algorithm, least_conn counting open connections (an L4 connection is one client for its life).</summary>
    public ILoadBalancer TcpBalancer { get; }
    /// <summary>hash_key, p2c's response times and sticky cookies (ids by position in this set); null when a plain pick does.</summary>
    public UpstreamBalancing? Balancing { get; }
    /// <summary>Words of the bitset that marks servers already tried for a request.</summary>
    public int ExclusionWords { get; }

    /// <param name="previous">The set being replaced (null at build): its balancers' state is what carries over, by server address.</param>
    public static ServerSet Create(Upstream upstream, UpstreamServer[] servers, IReadOnlyList<ServerConfig> configs, ServerSet? previous)
    {
        var balanced = new BalancedServer[servers.Length];
        for (int i = 0; i < servers.Length; i++) balanced[i] = servers[i].State;
        string name = Upstream.BalanceName(upstream.Config.Balance);
        // The rotation (round_robin, least_conn) and smooth weights (weighted) go on for the servers that stay.
        var balancer = LoadBalancers.Create(name, balanced, previous: previous?.Balancer);
        var tcp = LoadBalancers.Create(name, balanced, LoadMetric.OpenConnections, previous?.TcpBalancer);
        return new ServerSet(servers, [.. configs], balancer, tcp, UpstreamBalancing.For(upstream.Config, servers));
    }

    /// <summary>The same servers (address and weight), in any order: a resolution that changed nothing changes nothing.</summary>
    public bool SameAs(IReadOnlyList<ServerConfig> configs)
    {
        if (configs.Count != _configs.Length) return false;
        var mine = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var config in _configs) mine[config.Address] = config.Weight;
        foreach (var config in configs)
        {
            if (!mine.TryGetValue(config.Address, out int weight) || weight != config.Weight) return false;
        }
        return true;
    }

    /// <summary>
    /// One server per address: an IP literal is itself; a host name becomes one server per address it resolves to
    /// (<paramref name="addressesOf"/>), named "address:port" and in address order (DNS rotating its answers does not
    /// reorder the servers), with the declared entry's weight. An address listed twice is one server (the first).
    /// A name with no address (yet) contributes none.
    /// </summary>
    public static List<ServerConfig> Expand(IReadOnlyList<ServerConfig> declared, Func<ServerConfig, IReadOnlyList<IPAddress>> addressesOf)
    {
        var list = new List<ServerConfig>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in declared)
        {
            if (!server.HostIsName)
            {
                if (seen.Add(server.Address)) list.Add(server);
                continue;
            }
            var addresses = addressesOf(server).ToArray();
            Array.Sort(addresses, CompareAddresses);
            foreach (var address in addresses)
            {
                var endPoint = new IPEndPoint(address, server.EndPoint.Port);
                var text = endPoint.ToString();
                if (!seen.Add(text)) continue;
                list.Add(new ServerConfig
                {
                    Address = text,
                    EndPoint = endPoint,
                    Host = server.Host,
                    Weight = server.Weight,
                    Resolved = server.Resolved,
                    Declared = server.Address,
                });
            }
        }
        return list;
    }

    private static int CompareAddresses(IPAddress a, IPAddress b)
    {
        if (a.AddressFamily != b.AddressFamily) return a.AddressFamily.CompareTo(b.AddressFamily);
        return a.GetAddressBytes().AsSpan().SequenceCompareTo(b.GetAddressBytes());
    }
}
