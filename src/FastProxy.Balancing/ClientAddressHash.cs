using System.Buffers.Binary;
using System.Net;

namespace FastProxy.Balancing;

/// <summary>
/// Hashes a client address into <see cref="PickContext.ClientHash"/> for ip_hash, without allocating.
/// </summary>
/// <remarks>
/// FNV-1a folds the bytes into 64 bits cheaply but leaves them poorly mixed (addresses that differ in the
/// last byte differ only in the low bits); the murmur3 finalizer then spreads every input bit over the whole
/// word. The hash has no per-process seed on purpose: several proxy instances with the same configuration
/// send a client to the same server. An IPv4 client seen through a dual-stack socket (::ffff:a.b.c.d)
/// hashes as the plain IPv4 address, so the listener's socket family does not change where a client goes.
/// </remarks>
public static class ClientAddressHash
{
    private const ulong FnvOffsetBasis = 14695981039346656037;
    private const ulong FnvPrime = 1099511628211;

    public static ulong Compute(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);

        // 16 bytes hold an address of either family, so the write cannot fail.
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return Compute(bytes[..written]);
    }

    /// <summary>Hashes an address in network byte order: 4 bytes (IPv4) or 16 bytes (IPv6).</summary>
    public static ulong Compute(ReadOnlySpan<byte> address)
    {
        // RFC 4291 section 2.5.5.2: 80 zero bits, 16 one bits, then the IPv4 address.
        if (address.Length == 16
            && BinaryPrimitives.ReadUInt64BigEndian(address) == 0
            && BinaryPrimitives.ReadUInt32BigEndian(address[8..]) == 0x0000_FFFF)
        {
            address = address[12..];
        }

        ulong hash = FnvOffsetBasis;
        foreach (byte b in address)
        {
            hash = (hash ^ b) * FnvPrime;
        }

        return Mix(hash);
    }

    /// <summary>
    /// Hashes text (a server address) by UTF-16 code unit, so the result does not depend on the machine's
    /// byte order or on the process, unlike <see cref="string.GetHashCode()"/>.
    /// </summary>
    internal static ulong Compute(ReadOnlySpan<char> text)
    {
        ulong hash = FnvOffsetBasis;
        foreach (char c in text)
        {
            hash = (hash ^ c) * FnvPrime;
        }

        return Mix(hash);
    }

    /// <summary>The murmur3 64-bit finalizer: a bijection in which every input bit flips about half the output bits.</summary>
    internal static ulong Mix(ulong value)
    {
        value ^= value >> 33;
        value *= 0xFF51_AFD7_ED55_8CCD;
        value ^= value >> 33;
        value *= 0xC4CE_B9FE_1A85_EC53;
        value ^= value >> 33;
        return value;
    }
}
