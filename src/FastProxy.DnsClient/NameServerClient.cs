using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace FastProxy.DnsClient;

/// <summary>The addresses a name resolved to, and how long they may be cached (the smallest TTL of the records).</summary>
public sealed record NameAnswer(IReadOnlyList<IPAddress> IPv4, IReadOnlyList<IPAddress> IPv6, TimeSpan Ttl);

/// <summary>A name that did not resolve: NXDOMAIN, no address of either family, or no server answered.</summary>
public sealed class NameResolutionException(string message) : Exception(message);

/// <summary>
/// A stub resolver that asks the configured name servers ([dns] servers) for A and AAAA records: over UDP from a fresh
/// socket (a random source port chosen by the kernel, a random 16-bit ID from a cryptographic source: RFC 5452), and
/// over TCP when the answer comes back truncated (RFC 7766). Servers are tried in order; each gets one try of
/// <c>timeout</c>. A datagram that is not the answer to the question asked (another ID, another question, another
/// source: the UDP socket is connected, so the kernel drops datagrams from elsewhere) is ignored, not trusted.
/// Off the request path: it allocates freely.
/// </summary>
public sealed class NameServerClient
{
    /// <summary>Large enough for any UDP answer without EDNS0 (512, RFC 1035 4.2.1) and most with it.</summary>
    private const int UdpBuffer = 4096;

    private readonly IPEndPoint[] _servers;
    private readonly TimeSpan _timeout;

    public NameServerClient(IReadOnlyList<IPEndPoint> servers, TimeSpan timeout)
    {
        if (servers.Count == 0) throw new ArgumentException("at least one name server", nameof(servers));
        _servers = [.. servers];
        _timeout = timeout;
    }

    /// <summary>Both families at once; throws <see cref="NameResolutionException"/> when the name has no address.</summary>
    public async Task<NameAnswer> ResolveAsync(string name, CancellationToken cancellationToken = default)
    {
        var v4 = QueryAsync(name, DnsWire.TypeA, cancellationToken);
        var v6 = QueryAsync(name, DnsWire.TypeAaaa, cancellationToken);
        (List<IPAddress> Addresses, uint Ttl, string? Error) a, aaaa;
        try
        {
            a = await v4.ConfigureAwait(false);
        }
        finally
        {
            aaaa = await v6.ConfigureAwait(false);
        }
        if (a.Addresses.Count == 0 && aaaa.Addresses.Count == 0)
            throw new NameResolutionException(a.Error ?? aaaa.Error ?? "no addresses");
        uint ttl = Math.Min(a.Addresses.Count > 0 ? a.Ttl : uint.MaxValue, aaaa.Addresses.Count > 0 ? aaaa.Ttl : uint.MaxValue);
        return new NameAnswer(a.Addresses, aaaa.Addresses, TimeSpan.FromSeconds(Math.Min(ttl, int.MaxValue)));
    }

    /// <summary>One record type, server after server until one answers; Error says why there is nothing.</summary>
    private async Task<(List<IPAddress>, uint, string?)> QueryAsync(string name, ushort type, CancellationToken cancellationToken)
    {
        var query = new byte[DnsWire.MaxQuery];
        ushort id = (ushort)RandomNumberGenerator.GetInt32(0x10000);
        int length = DnsWire.WriteQuery(query, id, name, type);
        if (length < 0) return ([], 0, "not a valid DNS name");
        string error = "no name server answered";
        foreach (var server in _servers)
        {
            var addresses = new List<IPAddress>();
            DnsWire.Outcome outcome;
            uint ttl;
            try
            {
                (outcome, ttl) = await AskUdpAsync(server, query.AsMemory(0, length), id, name, type, addresses, cancellationToken).ConfigureAwait(false);
                if (outcome == DnsWire.Outcome.Truncated)
                {
                    addresses.Clear();
                    (outcome, ttl) = await AskTcpAsync(server, query.AsMemory(0, length), id, name, type, addresses, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
            {
                error = ex is OperationCanceledException ? $"{server} did not answer in time" : $"{server}: {ex.Message}";
                continue;
            }
            switch (outcome)
            {
                case DnsWire.Outcome.Answer:
                    return (addresses, ttl, addresses.Count == 0 ? "no addresses" : null);
                case DnsWire.Outcome.NameError:
                    // Authoritative: the name does not exist. Another server would say the same.
                    return ([], 0, "no such host");
                default:
                    error = $"{server} could not answer ({outcome})";
                    continue;
            }
        }
        return ([], 0, error);
    }

    private async Task<(DnsWire.Outcome, uint)> AskUdpAsync(IPEndPoint server, ReadOnlyMemory<byte> query, ushort id, string name, ushort type,
        List<IPAddress> addresses, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // Connected: the kernel picks a random ephemeral port and delivers only datagrams from this server.
        socket.Connect(server);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        await socket.SendAsync(query, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        var buffer = new byte[UdpBuffer];
        while (true)
        {
            int received = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            var outcome = DnsWire.ReadResponse(buffer.AsSpan(0, received), id, name, type, addresses, out uint ttl);
            // Not the answer to this question (a late answer to an earlier one, a spoof): keep waiting for ours.
            if (outcome == DnsWire.Outcome.NotOurs)
            {
                addresses.Clear();
                continue;
            }
            return (outcome, ttl);
        }
    }

    private async Task<(DnsWire.Outcome, uint)> AskTcpAsync(IPEndPoint server, ReadOnlyMemory<byte> query, ushort id, string name, ushort type,
        List<IPAddress> addresses, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        await socket.ConnectAsync(server, timeout.Token).ConfigureAwait(false);
        // RFC 1035 4.2.2: over TCP each message is preceded by its length, two bytes.
        var framed = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed.AsMemory(2));
        await socket.SendAsync(framed, SocketFlags.None, timeout.Token).ConfigureAwait(false);
        var prefix = new byte[2];
        await ReadExactlyAsync(socket, prefix, timeout.Token).ConfigureAwait(false);
        var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await ReadExactlyAsync(socket, message, timeout.Token).ConfigureAwait(false);
        var outcome = DnsWire.ReadResponse(message, id, name, type, addresses, out uint ttl);
        // Over TCP a truncated or foreign answer is a broken server.
        return (outcome is DnsWire.Outcome.NotOurs or DnsWire.Outcome.Truncated ? DnsWire.Outcome.ServerFailure : outcome, ttl);
    }

    private static async Task ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            int read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0) throw new IOException("the name server closed the connection");
            buffer = buffer[read..];
        }
    }
}
