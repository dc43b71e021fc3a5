using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tcp;
using FastProxy.Tests.Tls;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderBytes;
using static FastProxy.Tests.Transport.ProxyProtocolClients;

namespace FastProxy.Tests.Transport;

/// <summary>
/// proxy_protocol = true on a tcp listener: the header is taken off (the upstream gets the client's bytes from the
/// first one after it), its address is the client's for ip_hash, and the same refusals as on http listeners apply.
/// </summary>
public sealed class ProxyProtocolTcpTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Config(IEnumerable<int> ports, string balance = "round_robin", string tls = "") => $$"""
        [client_ip]
        trusted_proxies = ["127.0.0.1/32"]

        [[listeners]]
        name = "tcp"
        bind = "127.0.0.1:0"
        protocol = "tcp"
        upstream = "app"
        proxy_protocol = true
        {{tls}}

        [upstreams.app]
        balance = "{{balance}}"
        servers = [ {{TcpConfigs.Servers(ports)}} ]
        """;

    [Fact]
    public async Task The_header_is_taken_off_and_the_bytes_after_it_are_relayed_untouched()
    {
        await using var backend = TcpBackend.Named("db");
        await using var proxy = TestProxy.Start(Config([backend.Port]));

        foreach (var header in new[] { V1(IPAddress.Parse("203.0.113.7"), IPAddress.Loopback), V2(IPAddress.Parse("2001:db8::7"), IPAddress.IPv6Loopback) })
        {
            using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
            // The header and the first bytes of the stream in one segment.
            await client.SendAsync(Concat(header, "hello\n"u8.ToArray()));
            Assert.Equal("db", await client.ReadLineAsync());
            // The echo starts with what followed the header: the header never reached the server.
            Assert.Equal("hello", await client.ReadLineAsync());
        }
        Assert.Equal(2, backend.Connections);
    }

    [Fact]
    public async Task ip_hash_follows_the_address_in_the_header()
    {
        await using var a = TcpBackend.Named("a");
        await using var b = TcpBackend.Named("b");
        await using var proxy = TestProxy.Start(Config([a.Port, b.Port], balance: "ip_hash"));

        var first = new Dictionary<int, string>();
        for (int round = 0; round < 2; round++)
        {
            for (int n = 1; n <= 16; n++)
            {
                using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
                await client.SendAsync(V2(IPAddress.Parse($"198.51.100.{n}"), IPAddress.Loopback));
                var server = await client.ReadLineAsync();
                if (round == 0) first[n] = server;
                else Assert.Equal(first[n], server);
            }
        }
        // Every connection comes from 127.0.0.1: without the header's address they would all hash alike.
        Assert.Contains("a", first.Values);
        Assert.Contains("b", first.Values);
    }

    [Fact]
    public async Task On_a_terminating_tcp_listener_the_header_comes_before_the_TLS_handshake()
    {
        var site = _files.Server("db", ["db.example.com"]);
        await using var backend = TcpBackend.Named("plain");
        await using var proxy = TestProxy.Start(Config([backend.Port], tls: TlsTerminationTests.Entry(site.Cert, site.Key)));

        using var socket = await ConnectAsync(proxy.Port("tcp"));
        await socket.SendAsync(V1("PROXY TCP6 2001:db8::9 ::1 40000 5432\r\n"));
        await using var ssl = new SslStream(new NetworkStream(socket), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "db.example.com" });
        Assert.Equal("plain", await ReadLineAsync(ssl));
        await ssl.WriteAsync("after tls\n"u8.ToArray());
        Assert.Equal("after tls", await ReadLineAsync(ssl));
    }

    [Fact]
    public async Task Untrusted_peers_and_malformed_headers_are_closed_before_any_server_is_connected()
    {
        await using var backend = TcpBackend.Echo();
        await using var proxy = TestProxy.Start(Config([backend.Port]));

        using (var untrusted = await TcpTestClient.ConnectAsync(proxy.Port("tcp"), IPAddress.Parse("127.0.0.2")))
        {
            await untrusted.SendAsync(Concat(V1(IPAddress.Parse("203.0.113.7"), IPAddress.Loopback), "hello\n"u8.ToArray()));
            Assert.True(await untrusted.IsClosedByPeerAsync(TimeSpan.FromSeconds(10)));
        }
        foreach (var bytes in new[] { "hello\n"u8.ToArray(), V1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), V2(0x21, 0x11, new byte[8]) })
        {
            using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
            await client.SendAsync(bytes);
            Assert.True(await client.IsClosedByPeerAsync(TimeSpan.FromSeconds(10)), Encoding.Latin1.GetString(bytes));
        }
        Assert.Equal(0, backend.Connections);
    }

    private static async Task<string> ReadLineAsync(Stream stream)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var line = new StringBuilder();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cts.Token) == 1 && one[0] != '\n') line.Append((char)one[0]);
        return line.ToString();
    }
}
