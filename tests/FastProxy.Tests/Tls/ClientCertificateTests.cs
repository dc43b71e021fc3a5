using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tls;

/// <summary>client_ca on [[listeners.tls]]: a client certificate issued by that CA is required; anything else is refused in the handshake.</summary>
public sealed class ClientCertificateTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Only_clients_with_a_certificate_from_client_ca_get_through()
    {
        var serverCa = _files.Ca("server-ca");
        var site = _files.Server("site", ["site.example.com"], ca: "server-ca");
        var clientCa = _files.Ca("client-ca");
        var alice = _files.Client("alice", "alice", ca: "client-ca");
        var mallory = _files.Client("mallory", "mallory", ca: "other-ca");
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port,
            TlsTerminationTests.Entry(site.Cert, site.Key, $"client_ca = \"{clientCa}\"")));
        int port = proxy.Port();

        var ok = await TlsTerminationTests.Curl(port, "site.example.com", serverCa, "--cert", alice.Cert, "--key", alice.Key);
        Assert.Equal(0, ok.ExitCode);
        Assert.Equal("ok", ok.StdOut);
        Assert.Single(upstream.Requests);

        // No certificate, and one from another CA: no response, nothing forwarded.
        var none = await TlsTerminationTests.Curl(port, "site.example.com", serverCa);
        Assert.NotEqual(0, none.ExitCode);
        Assert.Equal("", none.StdOut);
        var stranger = await TlsTerminationTests.Curl(port, "site.example.com", serverCa, "--cert", mallory.Cert, "--key", mallory.Key);
        Assert.NotEqual(0, stranger.ExitCode);
        Assert.Equal("", stranger.StdOut);

        // The same with openssl s_client over TLS 1.2, where the refusal is inside the handshake itself.
        var sclient = await TlsTerminationTests.SClient(port, ["-tls1_2", "-servername", "site.example.com"]);
        Assert.DoesNotContain("HTTP/1.1 200 OK", sclient.StdOut);
        sclient = await TlsTerminationTests.SClient(port, ["-tls1_2", "-servername", "site.example.com", "-cert", alice.Cert, "-key", alice.Key]);
        Assert.Contains("HTTP/1.1 200 OK", sclient.StdOut);

        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task Client_ca_applies_to_its_own_entry_only()
    {
        var ca = _files.Ca("ca");
        var open = _files.Server("open", ["open.example.com"]);
        var closed = _files.Server("closed", ["closed.example.com"]);
        var clientCa = _files.Ca("client-ca");
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port,
            TlsTerminationTests.Entry(open.Cert, open.Key) + TlsTerminationTests.Entry(closed.Cert, closed.Key, $"client_ca = \"{clientCa}\"")));

        Assert.Equal("ok", (await TlsTerminationTests.Curl(proxy.Port(), "open.example.com", ca)).StdOut);
        var refused = await TlsTerminationTests.Curl(proxy.Port(), "closed.example.com", ca);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task The_verified_subject_stays_on_the_connection_for_later_policies()
    {
        var serverCa = _files.Ca("server-ca");
        var site = _files.Server("site", ["site.example.com"], ca: "server-ca");
        var clientCa = _files.Ca("client-ca");
        var alice = _files.Client("alice", "alice", ca: "client-ca");
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port,
            TlsTerminationTests.Entry(site.Cert, site.Key, $"client_ca = \"{clientCa}\"")));

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, proxy.Port()));
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var certificate = X509Certificate2.CreateFromPemFile(alice.Cert, alice.Key);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "site.example.com",
            ClientCertificates = [certificate],
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        }, cts.Token);
        // One keep-alive request: once it is answered, the handshake is surely complete on the proxy's side too.
        await ssl.WriteAsync("GET / HTTP/1.1\r\nHost: site.example.com\r\n\r\n"u8.ToArray(), cts.Token);
        var buffer = new byte[4096];
        int read = await ssl.ReadAsync(buffer, cts.Token);
        Assert.StartsWith("HTTP/1.1 200 OK", System.Text.Encoding.ASCII.GetString(buffer, 0, read));

        var subjects = new List<string>();
        proxy.Host.Services.Heartbeat.ForEach(target =>
        {
            if (target is Http1Connection { ClientCertificateSubject: { } subject }) lock (subjects) subjects.Add(subject);
        });
        Assert.Equal(["CN=alice"], subjects);
    }
}
