using System.Net;
using FastProxy.Configuration;
using FastProxy.Policies.ClientIdentity;

namespace FastProxy.Tests.Gateway;

/// <summary>IpSet (binary search over merged ranges) against the obvious scan of every block, over random sets and the edges of every block.</summary>
public sealed class IpSetTests
{
    private static CidrBlock Block(string text)
    {
        var parts = text.Split('/');
        return new CidrBlock(IPAddress.Parse(parts[0]), int.Parse(parts[1]));
    }

    private static IpValue Ip(string text) => IpValue.From(IPAddress.Parse(text));

    [Fact]
    public void Empty_set_holds_nothing()
    {
        var set = new IpSet([]);
        Assert.True(set.IsEmpty);
        Assert.False(set.Contains(Ip("0.0.0.0")));
        Assert.False(set.Contains(Ip("::")));
    }

    [Fact]
    public void Whole_spaces_and_single_hosts()
    {
        var all = new IpSet([Block("0.0.0.0/0"), Block("::/0")]);
        Assert.True(all.Contains(Ip("0.0.0.0")));
        Assert.True(all.Contains(Ip("255.255.255.255")));
        Assert.True(all.Contains(Ip("::")));
        Assert.True(all.Contains(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        Assert.Equal(2, all.Count);

        var hosts = new IpSet([Block("255.255.255.255/32"), Block("0.0.0.0/32"), Block("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128")]);
        Assert.True(hosts.Contains(Ip("255.255.255.255")));
        Assert.True(hosts.Contains(Ip("0.0.0.0")));
        Assert.False(hosts.Contains(Ip("0.0.0.1")));
        Assert.False(hosts.Contains(Ip("255.255.255.254")));
        Assert.True(hosts.Contains(Ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
        Assert.False(hosts.Contains(Ip("::")));
    }

    [Fact]
    public void IPv4_and_IPv6_never_mix_but_mapped_addresses_are_IPv4()
    {
        var v4 = new IpSet([Block("10.0.0.0/8")]);
        Assert.True(v4.Contains(Ip("::ffff:10.1.2.3")));
        Assert.False(v4.Contains(Ip("::10.1.2.3")));
        Assert.False(v4.Contains(Ip("a00::")));
        // ::/0 is the IPv6 space: an IPv4 client (or a mapped one) is not in it.
        var v6 = new IpSet([Block("::/0")]);
        Assert.False(v6.Contains(Ip("10.1.2.3")));
        Assert.False(v6.Contains(Ip("::ffff:10.1.2.3")));
    }

    [Fact]
    public void Adjacent_overlapping_and_nested_blocks_merge()
    {
        var set = new IpSet([Block("10.0.0.0/25"), Block("10.0.0.128/25"), Block("10.0.1.0/24"), Block("10.0.0.64/26"), Block("10.0.3.0/24")]);
        Assert.Equal(2, set.Count); // 10.0.0.0-10.0.1.255 and 10.0.3.0/24
        Assert.True(set.Contains(Ip("10.0.1.255")));
        Assert.False(set.Contains(Ip("10.0.2.0")));
        Assert.True(set.Contains(Ip("10.0.3.0")));
    }

    [Theory]
    [InlineData(10, 7)]
    [InlineData(1_000, 11)]
    [InlineData(20_000, 13)]
    public void Random_sets_answer_as_a_scan_of_every_block_does(int blocks, int seed)
    {
        var random = new Random(seed);
        var list = new List<CidrBlock>();
        for (int i = 0; i < blocks; i++) list.Add(RandomBlock(random, v4: i % 2 == 0, clustered: i % 3 == 0));
        var set = new IpSet(list);
        var naive = list.Select(b => (IpValue.From(b.Network), b.PrefixLength)).ToArray();

        bool Scan(IpValue address)
        {
            foreach (var (network, prefix) in naive)
            {
                if (network.IsV4 != address.IsV4) continue;
                int bits = network.IsV4 ? 32 : 128;
                if (prefix == 0 || (address.Bits >> (bits - prefix)) == (network.Bits >> (bits - prefix))) return true;
            }
            return false;
        }

        var probes = new List<IpValue>();
        foreach (var (network, prefix) in naive)
        {
            // Each block's first and last address and their neighbours: where an off-by-one would show.
            var max = network.IsV4 ? (UInt128)uint.MaxValue : UInt128.MaxValue;
            int bits = network.IsV4 ? 32 : 128;
            UInt128 size = prefix == 0 ? max : (UInt128.One << (bits - prefix)) - 1;
            var first = network.Bits;
            var last = network.Bits + size;
            probes.Add(network with { Bits = first });
            probes.Add(network with { Bits = last });
            if (first > 0) probes.Add(network with { Bits = first - 1 });
            if (last < max) probes.Add(network with { Bits = last + 1 });
        }
        for (int i = 0; i < 20_000; i++) probes.Add(RandomAddress(random, v4: i % 2 == 0, clustered: i % 3 == 0));

        foreach (var probe in probes)
        {
            Assert.True(Scan(probe) == set.Contains(probe), $"{probe.ToAddress()}: scan says {Scan(probe)}");
        }
    }

    /// <summary>Clustered blocks fall in a small space (10.0.0.0/16, 2001:db8::/112) so that they overlap, nest and touch.</summary>
    private static CidrBlock RandomBlock(Random random, bool v4, bool clustered)
    {
        var address = RandomAddress(random, v4, clustered);
        int bits = v4 ? 32 : 128;
        int prefix = clustered ? random.Next(bits - 16, bits + 1) : random.Next(0, 40) == 0 ? random.Next(0, 4) : random.Next(8, bits + 1);
        UInt128 hostMask = prefix == 0 ? (v4 ? uint.MaxValue : UInt128.MaxValue) : prefix == bits ? 0 : (UInt128.One << (bits - prefix)) - 1;
        return new CidrBlock((address with { Bits = address.Bits & ~hostMask }).ToAddress(), prefix);
    }

    private static IpValue RandomAddress(Random random, bool v4, bool clustered)
    {
        if (v4)
        {
            uint bits = clustered ? 0x0A000000u | (uint)random.Next(0, 1 << 16) : (uint)random.NextInt64(0, 1L << 32);
            return new IpValue(bits, true);
        }
        Span<byte> bytes = stackalloc byte[16];
        random.NextBytes(bytes);
        var value = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
        if (clustered) value = (UInt128.Parse("20010db8000000000000000000000000", System.Globalization.NumberStyles.HexNumber)) | (value & 0xFFFF);
        // Not the IPv4-mapped range: IpValue keeps those as IPv4.
        if ((value >> 32) == 0xFFFF) value ^= UInt128.One << 100;
        return new IpValue(value, false);
    }
}
