using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace FastProxy.Tests.Infrastructure;

/// <summary>
/// A tiny authoritative DNS server on 127.0.0.1 (UDP, and TCP on the same port number) for one name: A queries get the
/// addresses the test sets (changeable at any time), AAAA queries an empty answer, other names NXDOMAIN. It can fail
/// (SERVFAIL) or truncate UDP answers on demand.
/// </summary>
public sealed class TestDnsServer : IAsyncDisposable
{
    private readonly Socket _udp;
    private readonly TcpListener? _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop;
    private readonly Task? _tcpLoop;
    private readonly string _name;
    private volatile IPAddress[] _addresses = [];
    private int _queries;
    private int _tcpQueries;

    public TestDnsServer(string name, params string[] addresses)
    {
        _name = name;
        Set(addresses);
        _udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_udp.LocalEndPoint!).Port;
        try
        {
            _tcp = new TcpListener(IPAddress.Loopback, Port);
            _tcp.Start();
            _tcpLoop = Task.Run(TcpLoop);
        }
        catch (SocketException)
        {
            _tcp = null; // the port number is taken for TCP: truncation tests check TcpAvailable
        }
        _udpLoop = Task.Run(UdpLoop);
    }

    public int Port { get; }

    public bool TcpAvailable => _tcp is not null;

    /// <summary>The TTL of the A records.</summary>
    public uint Ttl { get; set; } = 1;

    /// <summary>Answer SERVFAIL to everything (a resolver outage).</summary>
    public bool Fail { get; set; }

    /// <summary>Over UDP, set TC (truncated) instead of answering: the client must ask again over TCP.</summary>
    public bool Truncate { get; set; }

    /// <summary>When set, UDP answers first get a datagram with a wrong ID (an off-path spoof the client must ignore).</summary>
    public bool SpoofFirst { get; set; }

    public int Queries => Volatile.Read(ref _queries);
    public int TcpQueries => Volatile.Read(ref _tcpQueries);

    public void Set(params string[] addresses) => _addresses = [.. addresses.Select(IPAddress.Parse)];

    private async Task UdpLoop()
    {
        var buffer = new byte[512];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch
            {
                return;
            }
            Interlocked.Increment(ref _queries);
            var answer = Answer(buffer.AsSpan(0, received.ReceivedBytes), udp: true);
            if (answer is null) continue;
            try
            {
                if (SpoofFirst)
                {
                    var spoof = answer.ToArray();
                    spoof[0] ^= 0xFF;
                    // A spoofed answer pointing elsewhere: must never be taken.
                    await _udp.SendToAsync(spoof, SocketFlags.None, received.RemoteEndPoint);
                }
                await _udp.SendToAsync(answer, SocketFlags.None, received.RemoteEndPoint);
            }
            catch
            {
            }
        }
    }

    private async Task TcpLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _tcp!.AcceptTcpClientAsync(_stop.Token);
            }
            catch
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        var stream = client.GetStream();
                        var prefix = new byte[2];
                        await stream.ReadExactlyAsync(prefix);
                        var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                        await stream.ReadExactlyAsync(query);
                        Interlocked.Increment(ref _tcpQueries);
                        var answer = Answer(query, udp: false);
                        if (answer is null) return;
                        var framed = new byte[answer.Length + 2];
                        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                        answer.CopyTo(framed, 2);
                        await stream.WriteAsync(framed);
                    }
                    catch
                    {
                    }
                }
            });
        }
    }

    private byte[]? Answer(ReadOnlySpan<byte> query, bool udp)
    {
        if (query.Length < 12) return null;
        int at = 12;
        var labels = new List<string>();
        while (at < query.Length && query[at] != 0)
        {
            int length = query[at];
            labels.Add(System.Text.Encoding.ASCII.GetString(query.Slice(at + 1, length)));
            at += 1 + length;
        }
        at++;
        if (at + 4 > query.Length) return null;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(query[at..]);
        int questionEnd = at + 4;
        string name = string.Join('.', labels);

        var records = new List<byte[]>();
        int rcode = 0;
        bool truncated = false;
        if (Fail) rcode = 2;
        else if (!string.Equals(name, _name, StringComparison.OrdinalIgnoreCase)) rcode = 3;
        else if (udp && Truncate) truncated = true;
        else if (type == 1)
        {
            foreach (var address in _addresses)
            {
                var record = new byte[12 + 4];
                record[0] = 0xC0; // pointer to the question's name at offset 12
                record[1] = 12;
                BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(2), 1);
                BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(4), 1);
                BinaryPrimitives.WriteUInt32BigEndian(record.AsSpan(6), Ttl);
                BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(10), 4);
                address.GetAddressBytes().CopyTo(record, 12);
                records.Add(record);
            }
        }

        var response = new List<byte>();
        response.AddRange(query[..2].ToArray());
        ushort flags = (ushort)(0x8180 | rcode | (truncated ? 0x0200 : 0));
        response.Add((byte)(flags >> 8));
        response.Add((byte)flags);
        response.AddRange(new byte[] { 0, 1, 0, (byte)records.Count, 0, 0, 0, 0 });
        response.AddRange(query[12..questionEnd].ToArray());
        foreach (var record in records) response.AddRange(record);
        return [.. response];
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp?.Stop();
        try { await _udpLoop.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
        if (_tcpLoop is not null) try { await _tcpLoop.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
    }
}
