using System.Buffers.Binary;
using System.Numerics;

namespace FastProxy.ProxyProtocol;

public static partial class ProxyHeaderParser
{
    /// <summary>§2.2: the 13th byte's high nibble; "the receiver must only accept this value".</summary>
    private const int Version2 = 0x2;

    /// <summary>§2.2: address block lengths: 2 * 4 + 2 * 2 (AF_INET), 2 * 16 + 2 * 2 (AF_INET6), 2 * 108 (AF_UNIX).</summary>
    private const int InetBlockLength = 12;
    private const int Inet6BlockLength = 36;
    private const int UnixBlockLength = 216;

    /// <summary>§2.2: a TLV's type (1) and value length (2).</summary>
    private const int TlvHeaderLength = 3;

    /// <summary>§2.2.3: PP2_TYPE_CRC32C, a 4-byte CRC32c (RFC 4960 appendix B) of the whole header, computed with the field zeroed.</summary>
    private const byte TlvCrc32C = 0x03;
    private const int Crc32CLength = 4;

    /// <summary>
    /// Version 2 (§2.2): the signature, version and command, family and transport, a 16-bit length, then that many
    /// bytes: the address block and TLVs. TLVs are not interpreted, but their framing is checked (a TLV that overruns
    /// the header is refused), and a CRC32c TLV is verified, as §2.2.3 requires of a receiver that can.
    /// </summary>
    private static ProxyParseStatus ParseV2(ReadOnlySpan<byte> input, out ProxyHeader header, out int length, out ProxyHeaderError error)
    {
        header = default;
        length = 0;
        error = ProxyHeaderError.None;
        if (!StartsLike(input, V2Signature)) return Fail(ProxyHeaderError.NotProxyProtocol, out error);
        if (input.Length <= V2Signature.Length) return ProxyParseStatus.NeedMore;

        // The 13th byte. "Receivers must drop connections presenting unexpected values here."
        byte versionCommand = input[12];
        if (versionCommand >> 4 != Version2) return Fail(ProxyHeaderError.V2InvalidVersion, out error);
        var command = (ProxyCommand)(versionCommand & 0x0F);
        if (command is not (ProxyCommand.Local or ProxyCommand.Proxy)) return Fail(ProxyHeaderError.V2InvalidCommand, out error);
        if (input.Length < 14) return ProxyParseStatus.NeedMore;

        // The 14th byte. For LOCAL "the family ... is ignored"; for PROXY, unassigned values "must be rejected".
        var family = (ProxyAddressFamily)(input[13] >> 4);
        var transport = (ProxyTransport)(input[13] & 0x0F);
        if (command == ProxyCommand.Proxy && (family > ProxyAddressFamily.Unix || transport > ProxyTransport.Datagram))
            return Fail(ProxyHeaderError.V2InvalidFamily, out error);
        if (input.Length < V2FixedLength) return ProxyParseStatus.NeedMore;

        int payload = BinaryPrimitives.ReadUInt16BigEndian(input[14..]);
        if (payload > MaxV2PayloadLength) return Fail(ProxyHeaderError.V2TooLong, out error);
        int total = V2FixedLength + payload;
        // "The receiver must not start to parse an address before the whole address block is received."
        if (input.Length < total) return ProxyParseStatus.NeedMore;
        var block = input[V2FixedLength..total];

        if (command == ProxyCommand.Local)
        {
            // "Receivers MUST always consider this field to skip the appropriate number of bytes."
            header = new ProxyHeader(2, ProxyCommand.Local, ProxyAddressFamily.Unspecified, ProxyTransport.Unspecified, 0, 0, 0, 0);
            length = total;
            return ProxyParseStatus.Complete;
        }

        int addressLength = family switch
        {
            ProxyAddressFamily.Inet => InetBlockLength,
            ProxyAddressFamily.Inet6 => Inet6BlockLength,
            ProxyAddressFamily.Unix => UnixBlockLength,
            _ => 0,
        };
        // AF_UNSPEC, or an unspecified transport: "the receiver should ignore address information", and where the
        // addresses end (so where TLVs would start) is not said: the whole block is skipped.
        bool known = family != ProxyAddressFamily.Unspecified && transport != ProxyTransport.Unspecified;
        if (!known)
        {
            header = new ProxyHeader(2, ProxyCommand.Proxy, family, transport, 0, 0, 0, 0);
            length = total;
            return ProxyParseStatus.Complete;
        }
        if (payload < addressLength) return Fail(ProxyHeaderError.V2AddressBlockTooShort, out error);
        var tlvs = block[addressLength..];
        int crcAt = -1;
        for (int at = 0; at < tlvs.Length;)
        {
            if (tlvs.Length - at < TlvHeaderLength) return Fail(ProxyHeaderError.V2InvalidTlv, out error);
            byte type = tlvs[at];
            int valueLength = BinaryPrimitives.ReadUInt16BigEndian(tlvs[(at + 1)..]);
            if (valueLength > tlvs.Length - at - TlvHeaderLength) return Fail(ProxyHeaderError.V2InvalidTlv, out error);
            if (type == TlvCrc32C)
            {
                if (valueLength != Crc32CLength || crcAt >= 0) return Fail(ProxyHeaderError.V2InvalidTlv, out error);
                crcAt = V2FixedLength + addressLength + at + TlvHeaderLength;
            }
            at += TlvHeaderLength + valueLength;
        }
        if (crcAt >= 0 && !ChecksumMatches(input[..total], crcAt)) return Fail(ProxyHeaderError.V2ChecksumMismatch, out error);

        UInt128 source = 0, destination = 0;
        ushort sourcePort = 0, destinationPort = 0;
        if (family == ProxyAddressFamily.Inet)
        {
            source = BinaryPrimitives.ReadUInt32BigEndian(block);
            destination = BinaryPrimitives.ReadUInt32BigEndian(block[4..]);
            sourcePort = BinaryPrimitives.ReadUInt16BigEndian(block[8..]);
            destinationPort = BinaryPrimitives.ReadUInt16BigEndian(block[10..]);
        }
        else if (family == ProxyAddressFamily.Inet6)
        {
            source = BinaryPrimitives.ReadUInt128BigEndian(block);
            destination = BinaryPrimitives.ReadUInt128BigEndian(block[16..]);
            sourcePort = BinaryPrimitives.ReadUInt16BigEndian(block[32..]);
            destinationPort = BinaryPrimitives.ReadUInt16BigEndian(block[34..]);
        }
        // AF_UNIX: paths, not a client address; the header is valid and the peer is kept.
        header = new ProxyHeader(2, ProxyCommand.Proxy, family, transport, source, destination, sourcePort, destinationPort);
        length = total;
        return ProxyParseStatus.Complete;
    }

    /// <summary>§2.2.3: the CRC32c of the whole header with the checksum's own 4 bytes taken as zeros, sent big-endian.</summary>
    private static bool ChecksumMatches(ReadOnlySpan<byte> header, int crcAt)
    {
        uint sent = BinaryPrimitives.ReadUInt32BigEndian(header[crcAt..]);
        uint crc = Crc32C(uint.MaxValue, header[..crcAt]);
        crc = Crc32C(crc, [0, 0, 0, 0]);
        crc = Crc32C(crc, header[(crcAt + Crc32CLength)..]);
        return ~crc == sent;
    }

    /// <summary>The CRC32c register over <paramref name="data"/> (hardware instructions where the CPU has them); no final inversion.</summary>
    internal static uint Crc32C(uint crc, ReadOnlySpan<byte> data)
    {
        while (data.Length >= sizeof(ulong))
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[sizeof(ulong)..];
        }
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        return crc;
    }
}
