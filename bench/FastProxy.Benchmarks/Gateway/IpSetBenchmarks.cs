using System.Net;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Policies.ClientIdentity;

namespace FastProxy.Benchmarks.Gateway;

/// <summary>
/// One IpSet lookup (what ip_filter and [client_ip] trusted_proxies do per request) in sets of 10, 1,000 and 100,000
/// random CIDR blocks, IPv4 and IPv6. The set is a binary search over merged ranges, so the cost should grow with the
/// logarithm of the size, and nothing is allocated. Each invocation looks up 1,024 addresses (half inside a block,
/// half random) so that branch prediction cannot learn one answer; the figure per operation is per 1,024 lookups.
/// </summary>
[MemoryDiagnoser]
public class IpSetBenchmarks
{
    private const int Lookups = 1024;

    [Params(10, 1_000, 100_000)]
    public int Blocks { get; set; }

    [Params(false, true)]
    public bool V6 { get; set; }

    private IpSet _set = null!;
    private IpValue[] _addresses = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var blocks = new List<CidrBlock>(Blocks);
        var networks = new List<IpValue>(Blocks);
        for (int i = 0; i < Blocks; i++)
        {
            var address = RandomAddress(random);
            int bits = V6 ? 128 : 32;
            // Prefixes typical of access lists: /16 to /32 for IPv4, /32 to /128 for IPv6.
            int prefix = V6 ? random.Next(32, 129) : random.Next(16, 33);
            UInt128 hostMask = prefix == bits ? UInt128.Zero : (UInt128.One << (bits - prefix)) - 1;
            var network = address with { Bits = address.Bits & ~hostMask };
            blocks.Add(new CidrBlock(network.ToAddress(), prefix));
            networks.Add(network);
        }
        _set = new IpSet(blocks);
        _addresses = new IpValue[Lookups];
        for (int i = 0; i < Lookups; i++)
        {
            _addresses[i] = i % 2 == 0 ? networks[random.Next(networks.Count)] : RandomAddress(random);
        }
    }

    private IpValue RandomAddress(Random random)
    {
        if (!V6) return new IpValue((uint)random.NextInt64(0, 1L << 32), true);
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        bytes[0] = 0x20; // global unicast, never the IPv4-mapped range
        return IpValue.From(new IPAddress(bytes));
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Contains()
    {
        int found = 0;
        foreach (ref readonly var address in _addresses.AsSpan())
        {
            if (_set.Contains(address)) found++;
        }
        return found;
    }
}
