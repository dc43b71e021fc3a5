using BenchmarkDotNet.Attributes;
using FastProxy.Balancing;

namespace FastProxy.Benchmarks.Balancing;

/// <summary>
/// One pick per algorithm, single-threaded, over an upstream of 3 or 16 servers with one of them down, so
/// every pick also pays for skipping. ip_hash sees a different client each call, as a proxy would.
/// </summary>
[MemoryDiagnoser]
public class BalancerBenchmarks
{
    private ILoadBalancer _roundRobin = null!;
    private ILoadBalancer _leastConn = null!;
    private ILoadBalancer _ipHash = null!;
    private ILoadBalancer _weighted = null!;
    private ulong _client;

    [Params(3, 16)]
    public int Servers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var servers = new BalancedServer[Servers];
        for (int i = 0; i < servers.Length; i++)
        {
            servers[i] = new BalancedServer(i, $"10.0.0.{i + 1}:8080", weight: 1 + (i % 4));

            // Uneven loads, so least_conn compares rather than only breaking ties.
            for (int r = 0; r < i % 3; r++)
            {
                servers[i].RequestStarted();
            }
        }

        servers[1].IsAvailable = false;

        _roundRobin = LoadBalancers.Create(LoadBalancers.RoundRobin, servers);
        _leastConn = LoadBalancers.Create(LoadBalancers.LeastConn, servers);
        _ipHash = LoadBalancers.Create(LoadBalancers.IpHash, servers);
        _weighted = LoadBalancers.Create(LoadBalancers.Weighted, servers);
    }

    [Benchmark(Baseline = true)]
    public int RoundRobin() => _roundRobin.Pick(default);

    [Benchmark]
    public int LeastConn() => _leastConn.Pick(default);

    [Benchmark]
    public int IpHash() => _ipHash.Pick(new PickContext { ClientHash = _client += 0x9E37_79B9_7F4A_7C15 });

    [Benchmark]
    public int Weighted() => _weighted.Pick(default);
}
