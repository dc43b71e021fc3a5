using System.Net;
using FastProxy.Balancing;

namespace FastProxy.Tests.Balancing;

public class ClientAddressHashTests
{
    [Fact]
    public void An_IPv4_client_hashes_the_same_through_a_dual_stack_socket()
    {
        IPAddress v4 = IPAddress.Parse("203.0.113.7");

        Assert.Equal(ClientAddressHash.Compute(v4), ClientAddressHash.Compute(v4.MapToIPv6()));
        Assert.Equal(ClientAddressHash.Compute(v4), ClientAddressHash.Compute(IPAddress.Parse("::ffff:203.0.113.7")));
    }

    [Fact]
    public void The_address_and_byte_overloads_agree()
    {
        Assert.Equal(
            ClientAddressHash.Compute(IPAddress.Parse("198.51.100.1")),
            ClientAddressHash.Compute([198, 51, 100, 1]));
        Assert.Equal(
            ClientAddressHash.Compute(IPAddress.Parse("2001:db8::1")),
            ClientAddressHash.Compute(IPAddress.Parse("2001:db8::1").GetAddressBytes()));
    }

    [Fact]
    public void Neighbouring_and_cross_family_addresses_differ()
    {
        var seen = new HashSet<ulong>
        {
            ClientAddressHash.Compute(IPAddress.Parse("10.0.0.1")),
            ClientAddressHash.Compute(IPAddress.Parse("10.0.0.2")),
            ClientAddressHash.Compute(IPAddress.Parse("10.0.1.1")),
            ClientAddressHash.Compute(IPAddress.Parse("::a00:1")), // IPv4-compatible, not mapped: a different client
            ClientAddressHash.Compute(IPAddress.Parse("2001:db8::1")),
            ClientAddressHash.Compute(IPAddress.Parse("2001:db8::2")),
        };

        Assert.Equal(6, seen.Count);
    }

    [Fact]
    public void The_hash_is_pinned_so_a_fleet_mid_upgrade_agrees_on_every_client()
    {
        // Changing the hash moves every ip_hash client to another server; do it on purpose or not at all.
        Assert.Equal(0x8039_3182_6A22_88EAUL, ClientAddressHash.Compute(IPAddress.Parse("192.0.2.1")));
        Assert.Equal(0x8DEC_2B2D_0B0E_530FUL, ClientAddressHash.Compute(IPAddress.Parse("2001:db8::1")));
    }

    [Fact]
    public void Low_bits_alone_flip_about_half_the_hash()
    {
        // Many pairs of addresses differing in the last bit: the finalizer spreads that bit over all 64.
        long flipped = 0;
        const int Pairs = 1000;
        for (int i = 0; i < Pairs; i++)
        {
            ulong a = ClientAddressHash.Compute([10, 0, (byte)(i >> 8), (byte)(i & 0xFE)]);
            ulong b = ClientAddressHash.Compute([10, 0, (byte)(i >> 8), (byte)(i | 1)]);
            flipped += System.Numerics.BitOperations.PopCount(a ^ b);
        }

        Assert.InRange(flipped / (double)Pairs, 30.0, 34.0);
    }

    [Fact]
    public void Rejects_a_null_address()
    {
        Assert.Throws<ArgumentNullException>(() => ClientAddressHash.Compute((IPAddress)null!));
    }
}
