using System.Buffers.Binary;

namespace FastProxy.ProxyProtocol;

/// <summary>The 13th byte's low nibble in version 2 (proxy-protocol.txt §2.2); version 1 headers are always <see cref="Proxy"/>.</summary>
public enum ProxyCommand : byte
{
    /// <summary>
    /// The sender opened the connection for itself (a health check): the receiver "must use the real connection
    /// endpoints and discard the protocol block including the family".
    /// </summary>
    Local = 0x0,
    /// <summary>Relayed on behalf of a client: the address block names it.</summary>
    Proxy = 0x1,
}

/// <summary>The 14th byte's high nibble in version 2; TCP4/TCP6/UNKNOWN in version 1.</summary>
public enum ProxyAddressFamily : byte
{
    /// <summary>AF_UNSPEC, or version 1's UNKNOWN: no address to use.</summary>
    Unspecified = 0x0,
    /// <summary>AF_INET: 4-byte addresses and 2-byte ports.</summary>
    Inet = 0x1,
    /// <summary>AF_INET6: 16-byte addresses and 2-byte ports.</summary>
    Inet6 = 0x2,
    /// <summary>AF_UNIX: 108-byte paths, which name no IP client.</summary>
    Unix = 0x3,
}

/// <summary>The 14th byte's low nibble in version 2; STREAM for version 1's TCP4/TCP6.</summary>
public enum ProxyTransport : byte
{
    Unspecified = 0x0,
    Stream = 0x1,
    Datagram = 0x2,
}

/// <summary>
/// A complete, valid PROXY protocol header: what it says about the connection it precedes. Addresses are kept as
/// numbers in host order (IPv4 in the low 32 bits), so reading a header allocates nothing.
/// </summary>
public readonly struct ProxyHeader
{
    public ProxyHeader(int version, ProxyCommand command, ProxyAddressFamily family, ProxyTransport transport,
        UInt128 source, UInt128 destination, ushort sourcePort, ushort destinationPort)
    {
        Version = version;
        Command = command;
        Family = family;
        Transport = transport;
        Source = source;
        Destination = destination;
        SourcePort = sourcePort;
        DestinationPort = destinationPort;
    }

    /// <summary>1 (text) or 2 (binary).</summary>
    public int Version { get; }
    public ProxyCommand Command { get; }
    public ProxyAddressFamily Family { get; }
    public ProxyTransport Transport { get; }
    public UInt128 Source { get; }
    public UInt128 Destination { get; }
    public ushort SourcePort { get; }
    public ushort DestinationPort { get; }

    /// <summary>
    /// The header names the client by an IP address. False for LOCAL (health checks), UNKNOWN, AF_UNSPEC and AF_UNIX,
    /// and an unspecified transport: the receiver keeps the connection's own peer address, as the spec asks.
    /// </summary>
    public bool NamesClient => Command == ProxyCommand.Proxy && Family is ProxyAddressFamily.Inet or ProxyAddressFamily.Inet6
        && Transport != ProxyTransport.Unspecified;

    /// <summary>Writes the source address in network byte order: 4 bytes (IPv4) or 16 (IPv6); 0 when <see cref="NamesClient"/> is false.</summary>
    public int WriteSource(Span<byte> destination)
    {
        if (!NamesClient) return 0;
        if (Family == ProxyAddressFamily.Inet)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Source);
            return 4;
        }
        BinaryPrimitives.WriteUInt128BigEndian(destination, Source);
        return 16;
    }
}
