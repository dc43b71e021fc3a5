using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tcp;

namespace FastProxy.Tests.Tls;

/// <summary>
/// A real HTTPS origin: SslStream over a socket with a certificate from PEM files, serving keep-alive HTTP/1.1 GETs
/// ("tls conn=N path=P"). It records the server name each handshake carried and the requests it answered.
/// </summary>
public sealed class TlsOrigin : IAsyncDisposable
{
    private readonly TcpBackend _tcp;
    private readonly ConcurrentQueue<string> _serverNames = new();
    private readonly ConcurrentQueue<string> _paths = new();
    private int _requests;
    private int _handshakes;
    private int _dropped;

    /// <param name="closeAfterEach">Closes (close_notify, FIN) after each response without saying so: a pooled connection goes stale.</param>
    /// <param name="dropSecond">Reads a second request on a connection, then closes without answering (the keep-alive race).</param>
    public TlsOrigin(string certFile, string keyFile, bool closeAfterEach = false, bool dropSecond = false)
    {
        var certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        _tcp = new TcpBackend(async socket =>
        {
            int connection = Interlocked.Increment(ref _handshakes);
            await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, cts.Token);
            _serverNames.Enqueue(ssl.TargetHostName);
            var head = new StringBuilder();
            var one = new byte[1];
            int answered = 0;
            while (await ssl.ReadAsync(one, cts.Token) == 1)
            {
                head.Append((char)one[0]);
                if (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal)) continue;
                string path = head.ToString().Split(' ')[1];
                head.Clear();
                if (dropSecond && answered++ == 1)
                {
                    Interlocked.Increment(ref _dropped);
                    break;
                }
                Interlocked.Increment(ref _requests);
                _paths.Enqueue(path);
                var body = $"tls conn={connection} path={path}";
                await ssl.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}"), cts.Token);
                if (closeAfterEach)
                {
                    await ssl.ShutdownAsync();
                    socket.Shutdown(SocketShutdown.Send);
                    break;
                }
            }
        });
    }

    public int Port => _tcp.Port;

    /// <summary>TCP connections accepted.</summary>
    public int Connections => _tcp.Connections;

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Requests read and left unanswered (dropSecond).</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    public IReadOnlyList<string> ServerNames => [.. _serverNames];

    /// <summary>The paths of the requests answered, in order.</summary>
    public IReadOnlyList<string> Paths => [.. _paths];

    public ValueTask DisposeAsync() => _tcp.DisposeAsync();
}

/// <summary>Upstreams with tls = true: the server certificate verified (configured CA or system store), SNI sent, keep-alive pooling.</summary>
public sealed class UpstreamTlsTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Config(string server, string tls) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        upstream = "app"

        [upstreams.app]
        servers = ["{{server}}"]
        tls = true
        {{tls}}
        """;

    [Fact]
    public async Task The_certificate_is_verified_against_ca_the_sni_is_sent_and_connections_are_reused()
    {
        var ca = _files.Ca("internal-ca");
        var cert = _files.Server("origin", ["origin.internal"], ca: "internal-ca");
        await using var origin = new TlsOrigin(cert.Cert, cert.Key);
        await using var proxy = TestProxy.Start(Config($"127.0.0.1:{origin.Port}", $"""
            ca = "{ca}"
            sni = "origin.internal"
            """));

        for (int i = 0; i < 5; i++)
        {
            var result = await Processes.CurlAsync(proxy.Url($"/r{i}").ToString());
            Assert.Equal($"tls conn=1 path=/r{i}", result.StdOut);
        }
        // One upstream TLS connection, kept alive across the five client connections.
        Assert.Equal(1, origin.Connections);
        Assert.Equal(["origin.internal"], origin.ServerNames);
    }

    private const string TlsChecks = """

        [upstreams.app.health]
        path = "/healthz"
        interval = "100ms"
        timeout = "2s"
        unhealthy = 1
        healthy = 1
        """;

    /// <summary>A TLS origin for origin.internal (internal CA) behind a proxy that checks it every 100 ms, sending <paramref name="sni"/>.</summary>
    private (TlsOrigin Origin, TestProxy Proxy) StartChecked(string sni)
    {
        var ca = _files.Ca("internal-ca");
        var cert = _files.Server("origin", ["origin.internal"], ca: "internal-ca");
        var origin = new TlsOrigin(cert.Cert, cert.Key);
        var proxy = TestProxy.Start(Config($"127.0.0.1:{origin.Port}", $"""
            ca = "{ca}"
            sni = "{sni}"
            """ + TlsChecks));
        return (origin, proxy);
    }

    [Fact]
    public async Task Health_checks_of_a_tls_upstream_go_over_tls_and_keep_it_in()
    {
        var (origin, proxy) = StartChecked("origin.internal");
        await using var _ = origin;
        await using var __ = proxy;
        var server = proxy.Host.Runtime.Upstreams["app"].Servers[0];

        // Each check is a TLS handshake (verified against `ca`, with the SNI) and a GET answered by the server.
        await Wait.UntilAsync(() => origin.Paths.Count(p => p == "/healthz") >= 3, "three checks answered over TLS");
        Assert.True(server.State.IsAvailable);
        Assert.All(origin.ServerNames, name => Assert.Equal("origin.internal", name));
        var result = await Processes.CurlAsync(proxy.Url("/after").ToString());
        Assert.StartsWith("tls conn=", result.StdOut);
        Assert.EndsWith("path=/after", result.StdOut);
    }

    [Fact]
    public async Task A_tls_upstream_whose_certificate_fails_verification_fails_its_checks()
    {
        var (origin, proxy) = StartChecked("other.internal");
        await using var _ = origin;
        await using var __ = proxy;
        var server = proxy.Host.Runtime.Upstreams["app"].Servers[0];

        await Wait.UntilAsync(() => !server.State.IsAvailable, "the server taken out by its checks");
        var result = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url("/x").ToString());
        Assert.Equal("503", result.StdOut);
        Assert.Equal(0, origin.Requests);
    }

    [Fact]
    public async Task Without_sni_the_servers_host_name_is_sent_and_verified()
    {
        var ca = _files.Ca("internal-ca");
        var cert = _files.Server("origin", ["localhost"], ca: "internal-ca");
        await using var origin = new TlsOrigin(cert.Cert, cert.Key);
        await using var proxy = TestProxy.Start(Config($"localhost:{origin.Port}", $"""ca = "{ca}" """));

        var result = await Processes.CurlAsync(proxy.Url("/x").ToString());
        Assert.Equal("tls conn=1 path=/x", result.StdOut);
        Assert.Equal(["localhost"], origin.ServerNames);
    }

    [Theory]
    [InlineData("", "the system store does not trust the test CA")]
    [InlineData("sni = \"other.internal\"", "the certificate names origin.internal")]
    public async Task A_server_certificate_that_fails_verification_is_a_502_and_no_request_is_sent(string extra, string why)
    {
        var ca = _files.Ca("internal-ca");
        var cert = _files.Server("origin", ["origin.internal"], ca: "internal-ca");
        await using var origin = new TlsOrigin(cert.Cert, cert.Key);
        string tls = extra.Length == 0 ? """sni = "origin.internal" """ : $"""
            ca = "{ca}"
            {extra}
            """;
        await using var proxy = TestProxy.Start(Config($"127.0.0.1:{origin.Port}", tls));

        var result = await Processes.CurlAsync("-w", "%{http_code}", "-o", "/dev/null", proxy.Url("/x").ToString());
        Assert.True(result.StdOut == "502", $"{why}: got {result.StdOut}");
        Assert.Equal(0, origin.Requests);
    }

    [Fact]
    public async Task Insecure_skip_verify_accepts_any_certificate_and_says_so()
    {
        var cert = _files.Server("origin", ["origin.internal"], ca: "unknown-ca");
        await using var origin = new TlsOrigin(cert.Cert, cert.Key);
        var config = Config($"127.0.0.1:{origin.Port}", "insecure_skip_verify = true");
        var loaded = FastProxy.Configuration.ConfigLoader.Parse(config, "test.toml", AppContext.BaseDirectory);
        Assert.Contains(loaded.Warnings, w => w.ToString().Contains("upstreams.app.insecure_skip_verify: server certificates are not verified"));

        await using var proxy = TestProxy.Start(config);
        var result = await Processes.CurlAsync(proxy.Url("/y").ToString());
        Assert.Equal("tls conn=1 path=/y", result.StdOut);
    }

    [Fact]
    public async Task A_pooled_TLS_connection_the_server_closed_is_replaced_transparently()
    {
        var ca = _files.Ca("internal-ca");
        var cert = _files.Server("origin", ["origin.internal"], ca: "internal-ca");
        await using var origin = new TlsOrigin(cert.Cert, cert.Key, closeAfterEach: true);
        await using var proxy = TestProxy.Start(Config($"127.0.0.1:{origin.Port}", $"""
            ca = "{ca}"
            sni = "origin.internal"
            """));

        for (int i = 1; i <= 5; i++)
        {
            var result = await Processes.CurlAsync(proxy.Url($"/s{i}").ToString());
            Assert.Equal($"tls conn={i} path=/s{i}", result.StdOut);
        }
        Assert.Equal(5, origin.Requests);
    }

    [Fact]
    public async Task A_request_the_server_drops_on_a_reused_TLS_connection_is_sent_again_on_a_fresh_one()
    {
        var ca = _files.Ca("internal-ca");
        var cert = _files.Server("origin", ["origin.internal"], ca: "internal-ca");
        await using var origin = new TlsOrigin(cert.Cert, cert.Key, dropSecond: true);
        await using var proxy = TestProxy.Start(Config($"127.0.0.1:{origin.Port}", $"""
            ca = "{ca}"
            sni = "origin.internal"
            """));

        Assert.Equal("tls conn=1 path=/a", (await Processes.CurlAsync(proxy.Url("/a").ToString())).StdOut);
        // Reuses connection 1, which the server closes on reading the request: retried on connection 2.
        Assert.Equal("tls conn=2 path=/b", (await Processes.CurlAsync(proxy.Url("/b").ToString())).StdOut);
        Assert.Equal(1, origin.Dropped);
        Assert.Equal(2, origin.Requests);
    }
}
