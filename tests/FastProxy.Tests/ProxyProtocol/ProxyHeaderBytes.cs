using System.Buffers.Binary;
using System.Net;
using System.Text;
using FastProxy.ProxyProtocol;

namespace FastProxy.Tests.ProxyProtocol;

/// <summary>PROXY protocol headers built byte by byte, for the parser's tests and for clients that send them to a proxy.</summary>
public static class ProxyHeaderBytes
{
    public static byte[] Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    public static byte[] V1(string line) => Encoding.Latin1.GetBytes(line);

    /// <summary>"PROXY TCP4 src dst sport dport\r\n" or TCP6, from addresses.</summary>
    public static byte[] V1(IPAddress source, IPAddress destination, int sourcePort = 56324, int destinationPort = 443)
    {
        string family = source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "TCP4" : "TCP6";
        return V1($"PROXY {family} {source} {destination} {sourcePort} {destinationPort}\r\n");
    }

    /// <summary>A version 2 header: the 16 fixed bytes (the length computed), the address block, then each TLV.</summary>
    public static byte[] V2(byte versionCommand, byte familyTransport, byte[] block, params byte[][] tlvs)
    {
        var body = new List<byte>(block);
        foreach (var tlv in tlvs) body.AddRange(tlv);
        return V2Raw(versionCommand, familyTransport, body.Count, [.. body]);
    }

    /// <summary>A version 2 header whose length field says <paramref name="length"/>, whatever follows.</summary>
    public static byte[] V2Raw(byte versionCommand, byte familyTransport, int length, byte[] rest)
    {
        var bytes = new byte[16 + rest.Length];
        Signature.CopyTo(bytes, 0);
        bytes[12] = versionCommand;
        bytes[13] = familyTransport;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(14), (ushort)length);
        rest.CopyTo(bytes, 16);
        return bytes;
    }

    /// <summary>PROXY command, TCP over IPv4 or IPv6 (0x11 / 0x21), with the given TLVs.</summary>
    public static byte[] V2(IPAddress source, IPAddress destination, int sourcePort = 56324, int destinationPort = 443, params byte[][] tlvs)
        => V2(0x21, source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? (byte)0x11 : (byte)0x21,
            AddressBlock(source, destination, sourcePort, destinationPort), tlvs);

    public static byte[] AddressBlock(IPAddress source, IPAddress destination, int sourcePort, int destinationPort)
    {
        var block = new List<byte>(source.GetAddressBytes());
        block.AddRange(destination.GetAddressBytes());
        block.Add((byte)(sourcePort >> 8));
        block.Add((byte)sourcePort);
        block.Add((byte)(destinationPort >> 8));
        block.Add((byte)destinationPort);
        return [.. block];
    }

    public static byte[] Tlv(byte type, byte[] value)
    {
        var tlv = new byte[3 + value.Length];
        tlv[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(tlv.AsSpan(1), (ushort)value.Length);
        value.CopyTo(tlv, 3);
        return tlv;
    }

    /// <summary>A header whose last TLV is a PP2_TYPE_CRC32C filled in as §2.2.3 says (computed with the field zeroed).</summary>
    public static byte[] WithChecksum(byte versionCommand, byte familyTransport, byte[] block, params byte[][] tlvs)
    {
        var bytes = V2(versionCommand, familyTransport, block, [.. tlvs, Tlv(0x03, [0, 0, 0, 0])]);
        uint crc = ~ProxyHeaderParser.Crc32C(uint.MaxValue, bytes);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(bytes.Length - 4), crc);
        return bytes;
    }

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
