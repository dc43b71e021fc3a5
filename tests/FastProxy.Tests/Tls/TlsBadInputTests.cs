using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tcp;

namespace FastProxy.Tests.Tls;

/// <summary>
/// What a TLS listener does with clients that do not complete a proper handshake: garbage, a stalled handshake, a
/// ClientHello in many tiny segments. Each costs its own connection only; others are served meanwhile.
/// </summary>
public sealed class TlsBadInputTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private (string Ca, string Config) Setup(int upstreamPort)
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        return (ca, TlsTerminationTests.Config(upstreamPort, TlsTerminationTests.Entry(site.Cert, site.Key), limits: """header_timeout = "1s" """));
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }

    /// <summary>Reads until the proxy closes (0 or a reset); returns what came before, or throws after <paramref name="limit"/>.</summary>
    private static async Task<byte[]> ReadUntilClosedAsync(Socket socket, TimeSpan limit)
    {
        using var cts = new CancellationTokenSource(limit);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
            // Reset: closed as well.
        }
        return received.ToArray();
    }

    [Theory]
    [InlineData("\x16\x03\x01\x00\x05garbage-after-a-record-header")]
    [InlineData("\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10")] // an SSLv2-style hello
    public async Task Garbage_instead_of_a_ClientHello_closes_that_connection_and_nothing_reaches_the_upstream(string garbage)
    {
        await using var upstream = new RawUpstream();
        var (ca, config) = Setup(upstream.Port);
        await using var proxy = TestProxy.Start(config);

        using var bad = await ConnectAsync(proxy.Port());
        await bad.SendAsync(Encoding.Latin1.GetBytes(garbage), SocketFlags.None);
        var answer = await ReadUntilClosedAsync(bad, TimeSpan.FromSeconds(10));
        // At most a TLS alert record (content type 21), never anything of HTTP.
        Assert.True(answer.Length == 0 || answer[0] == 21, $"unexpected answer: {Convert.ToHexString(answer)}");

        var good = await TlsTerminationTests.Curl(proxy.Port(), "site.example.com", ca);
        Assert.Equal("ok", good.StdOut);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Plain_HTTP_on_a_TLS_listener_is_answered_400_in_plain_HTTP_then_closed()
    {
        await using var upstream = new RawUpstream();
        var (ca, config) = Setup(upstream.Port);
        await using var proxy = TestProxy.Start(config);

        // A raw client: the whole answer, then the close (ReadUntilClosedAsync throws if it does not come).
        using var raw = await ConnectAsync(proxy.Port());
        await raw.SendAsync("GET / HTTP/1.1\r\nHost: site.example.com\r\n\r\n"u8.ToArray(), SocketFlags.None);
        var answer = Encoding.ASCII.GetString(await ReadUntilClosedAsync(raw, TimeSpan.FromSeconds(10)));
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", answer);
        Assert.Contains("\r\nConnection: close\r\n", answer);
        Assert.EndsWith("\r\n\r\nThe plain HTTP request was sent to HTTPS port\n", answer);

        // curl with http:// for an https port, as a user gets it wrong.
        var curl = await Processes.CurlAsync("-i", $"http://127.0.0.1:{proxy.Port()}/x");
        Assert.True(curl.ExitCode == 0, curl.StdErr);
        Assert.StartsWith("HTTP/1.1 400 Bad Request", curl.StdOut);
        Assert.EndsWith("The plain HTTP request was sent to HTTPS port\n", curl.StdOut);

        // TLS clients are served meanwhile; nothing of the plain requests reached the upstream.
        var good = await TlsTerminationTests.Curl(proxy.Port(), "site.example.com", ca);
        Assert.Equal("ok", good.StdOut);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Plain_HTTP_on_a_TLS_terminating_tcp_listener_is_closed_without_an_answer()
    {
        var site = _files.Server("db", ["db.example.com"]);
        await using var backend = TcpBackend.Named("plain");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backend.Port], limits: TlsTerminationTests.Entry(site.Cert, site.Key)));

        using var raw = await ConnectAsync(proxy.Port("tcp"));
        await raw.SendAsync("GET / HTTP/1.1\r\nHost: db.example.com\r\n\r\n"u8.ToArray(), SocketFlags.None);
        // A tcp listener's clients need not speak HTTP: no 400, the connection is closed, and no server is connected.
        Assert.Empty(await ReadUntilClosedAsync(raw, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, backend.Connections);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n", true)]
    [InlineData("OPTIONS * HTTP/1.1", true)]
    [InlineData("PRI * HTTP/2.0", true)]
    [InlineData("PO", true)] // the rest of "POST" still on its way
    [InlineData("\x16\x03\x01\x02\x00", false)] // a TLS handshake record
    [InlineData("\x80\x2e\x01\x00\x02", false)] // an SSLv2-style hello
    [InlineData(" GET", false)]
    [InlineData("get / HTTP/1.1", false)]
    [InlineData("SSH-2.0-OpenSSH_9.6", false)]
    public void The_first_bytes_tell_plain_HTTP_from_TLS(string first, bool http)
        => Assert.Equal(http, FastProxy.Tls.TlsHandshake.LooksLikeHttp(Encoding.Latin1.GetBytes(first)));

    [Fact]
    public async Task A_stalled_handshake_is_closed_after_header_timeout_while_other_clients_are_served()
    {
        await using var upstream = new RawUpstream();
        var (ca, config) = Setup(upstream.Port);
        await using var proxy = TestProxy.Start(config);

        // Half a ClientHello, then silence; and a client that sends nothing at all.
        var hello = await TlsClient.CaptureClientHelloAsync("site.example.com");
        using var half = await ConnectAsync(proxy.Port());
        await half.SendAsync(hello.AsMemory(0, hello.Length / 2), SocketFlags.None);
        using var silent = await ConnectAsync(proxy.Port());
        var clock = Stopwatch.StartNew();
        var halfClosed = ReadUntilClosedAsync(half, TimeSpan.FromSeconds(15));
        var silentClosed = ReadUntilClosedAsync(silent, TimeSpan.FromSeconds(15));

        // Meanwhile, real clients get through.
        for (int i = 0; i < 3; i++)
        {
            var good = await TlsTerminationTests.Curl(proxy.Port(), "site.example.com", ca);
            Assert.Equal("ok", good.StdOut);
        }

        await halfClosed;
        await silentClosed;
        // header_timeout is 1s; generous margins for a loaded machine.
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(12));
        Assert.Equal(3, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_ClientHello_in_one_byte_segments_completes_the_handshake()
    {
        await using var upstream = new RawUpstream();
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port, TlsTerminationTests.Entry(site.Cert, site.Key)));

        using var socket = await ConnectAsync(proxy.Port());
        // The first 200 bytes (most of the ClientHello) one per segment, 2 ms apart.
        var trickle = new TrickleStream(new NetworkStream(socket, ownsSocket: false), trickle: 200, TimeSpan.FromMilliseconds(2));
        await using var ssl = new SslStream(trickle);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var trust = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(ca);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "site.example.com",
            CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                CustomTrustStore = { trust },
            },
        }, cts.Token);
        Assert.Equal(200, trickle.Trickled);
        Assert.Equal("CN=site.example.com", ssl.RemoteCertificate!.Subject);

        await ssl.WriteAsync("GET /t HTTP/1.1\r\nHost: site.example.com\r\nConnection: close\r\n\r\n"u8.ToArray(), cts.Token);
        var response = await new StreamReader(ssl).ReadToEndAsync(cts.Token);
        Assert.StartsWith("HTTP/1.1 200 OK", response);
        Assert.EndsWith("ok", response);
    }
}
