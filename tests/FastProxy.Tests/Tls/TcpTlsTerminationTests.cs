using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tcp;

namespace FastProxy.Tests.Tls;

/// <summary>[[listeners.tls]] on a tcp listener: TLS in, plain bytes out to the upstream's servers.</summary>
public sealed class TcpTlsTerminationTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private async Task<SslStream> ConnectAsync(int port, string name, string ca, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        var trust = X509CertificateLoader.LoadCertificateFromFile(ca);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = name,
            CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck, CustomTrustStore = { trust } },
        }, cancellationToken);
        return ssl;
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cancellationToken) == 1 && one[0] != '\n') line.Append((char)one[0]);
        return line.ToString();
    }

    [Fact]
    public async Task Decrypted_bytes_are_relayed_to_the_server_and_half_close_passes_through()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("db", ["db.example.com"]);
        await using var backend = TcpBackend.Named("plain");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port], limits: TlsTerminationTests.Entry(site.Cert, site.Key)));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        await using var ssl = await ConnectAsync(proxy.Port("tcp"), "db.example.com", ca, cts.Token);
        Assert.Equal("CN=db.example.com", ssl.RemoteCertificate!.Subject);
        // No ALPN on a tcp listener: the stream is opaque.
        Assert.Equal(default, ssl.NegotiatedApplicationProtocol);
        // The backend's greeting and echo in clear: it got plain bytes, not TLS records.
        Assert.Equal("plain", await ReadLineAsync(ssl, cts.Token));
        var payload = new byte[100_000];
        new Random(7).NextBytes(payload);
        for (int i = 0; i < payload.Length; i++) if (payload[i] == '\n') payload[i] = (byte)'x';
        await ssl.WriteAsync(payload, cts.Token);
        // Our end of stream (close_notify) reaches the backend as a FIN; its echo still comes back whole, then its end.
        await ssl.ShutdownAsync();
        var echoed = new MemoryStream();
        await ssl.CopyToAsync(echoed, cts.Token);
        Assert.Equal(payload, echoed.ToArray());
    }

    [Fact]
    public async Task Sni_routes_on_a_terminating_tcp_listener_use_the_handshakes_server_name()
    {
        var ca = _files.Ca("ca");
        var a = _files.Server("a", ["a.example.com"]);
        var b = _files.Server("b", ["*.b.example.com"]);
        await using var backendA = TcpBackend.Named("backend-a");
        await using var backendB = TcpBackend.Named("backend-b");
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "tls"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "ua"

            [[listeners.tls]]
            cert = "{{a.Cert}}"
            key = "{{a.Key}}"

            [[listeners.tls]]
            cert = "{{b.Cert}}"
            key = "{{b.Key}}"

            [[routes]]
            listeners = ["tls"]
            upstream = "ub"
            [routes.match]
            sni = "*.b.example.com"

            [upstreams.ua]
            servers = ["127.0.0.1:{{backendA.Port}}"]

            [upstreams.ub]
            servers = ["127.0.0.1:{{backendB.Port}}"]
            """);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        await using (var ssl = await ConnectAsync(proxy.Port("tls"), "x.b.example.com", ca, cts.Token))
        {
            Assert.Equal("CN=*.b.example.com", ssl.RemoteCertificate!.Subject);
            Assert.Equal("backend-b", await ReadLineAsync(ssl, cts.Token));
        }
        await using (var ssl = await ConnectAsync(proxy.Port("tls"), "a.example.com", ca, cts.Token))
        {
            Assert.Equal("CN=a.example.com", ssl.RemoteCertificate!.Subject);
            Assert.Equal("backend-a", await ReadLineAsync(ssl, cts.Token));
        }
    }

    [Fact]
    public async Task Openssl_s_client_through_a_terminating_tcp_listener()
    {
        var site = _files.Server("db", ["db.example.com"], rsa: true);
        // Greets, answers one line, and closes: s_client (waiting with -ign_eof) then sees the end.
        await using var backend = new TcpBackend(async socket =>
        {
            await socket.SendAsync("plain\n"u8.ToArray(), SocketFlags.None);
            var line = new List<byte>();
            var one = new byte[1];
            while (await socket.ReceiveAsync(one, SocketFlags.None) == 1)
            {
                line.Add(one[0]);
                if (one[0] == '\n') break;
            }
            await socket.SendAsync(line.ToArray(), SocketFlags.None);
            socket.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port], limits: TlsTerminationTests.Entry(site.Cert, site.Key)));
        var result = await Processes.RunAsync("openssl",
            ["s_client", "-connect", $"127.0.0.1:{proxy.Port("tcp")}", "-servername", "db.example.com", "-ign_eof"],
            TimeSpan.FromSeconds(20), stdin: "hello over tls\n");
        Assert.Contains("subject=CN = db.example.com", result.StdOut);
        Assert.Contains("plain\nhello over tls\n", result.StdOut);
    }
}
