using System.Net;
using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tls;

/// <summary>
/// What the native AOT binary logs when a TLS handshake fails, on either side: the reason in words (the policy errors
/// and chain status of an upstream's certificate, what the client did wrong), never the runtime's resource keys
/// (net_ssl_io_cert_chain_validation, net_frame_read_size) that a build without the resource strings printed.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class TlsMessageTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Handshake_failures_are_logged_with_a_readable_reason_and_no_resource_key()
    {
        var origin = _files.SelfSigned("origin", "origin.internal");
        var wrongName = _files.Server("wrong", ["other.internal"], ca: "internal-ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var untrusted = new TlsOrigin(origin.Cert, origin.Key);
        await using var misnamed = new TlsOrigin(wrongName.Cert, wrongName.Key);
        int plain = ProxyProcess.FreePort();
        int secure = ProxyProcess.FreePort();
        int mutual = ProxyProcess.FreePort();
        var clientCa = _files.Ca("client-ca");
        var stranger = _files.Client("stranger", "stranger", ca: "stranger-ca");
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [[listeners]]
            name = "plain"
            bind = "127.0.0.1:{{plain}}"

            [[listeners]]
            name = "secure"
            bind = "127.0.0.1:{{secure}}"

            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"

            [[listeners]]
            name = "mutual"
            bind = "127.0.0.1:{{mutual}}"

            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"
            client_ca = "{{clientCa}}"

            [[routes]]
            listeners = ["plain"]
            upstream = "misnamed"
            [routes.match]
            path_prefix = "/misnamed"

            [[routes]]
            upstream = "untrusted"

            [upstreams.untrusted]
            servers = ["127.0.0.1:{{untrusted.Port}}"]
            tls = true
            sni = "origin.internal"

            [upstreams.misnamed]
            servers = ["127.0.0.1:{{misnamed.Port}}"]
            tls = true
            sni = "origin.internal"
            ca = "{{_files.PathOf("internal-ca.pem")}}"
            """, out var configPath, new Dictionary<string, string> { ["FASTPROXY_LOG_LEVEL"] = "debug" });
        try
        {
            await proxy.WaitForPortAsync(plain);
            await proxy.WaitForPortAsync(secure);
            await proxy.WaitForPortAsync(mutual);

            // Upstream side: a self-signed certificate the system store does not trust, and one for another name.
            var result = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{plain}/x");
            Assert.Equal("502", result.StdOut);
            result = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{plain}/misnamed");
            Assert.Equal("502", result.StdOut);

            // Listener side: a client that does not trust our certificate, and one that does not speak TLS at all.
            result = await Processes.CurlAsync("--resolve", $"site.example.com:{secure}:127.0.0.1", $"https://site.example.com:{secure}/");
            Assert.NotEqual(0, result.ExitCode);
            using (var garbage = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                await garbage.ConnectAsync(new IPEndPoint(IPAddress.Loopback, secure));
                await garbage.SendAsync(new byte[] { 0x80, 0x2e, 0x01, 0x00, 0x02, 0x00, 0x15 }, SocketFlags.None);
                await ReadUntilClosedAsync(garbage);
            }

            // A client certificate from a CA that client_ca does not name.
            result = await Processes.CurlAsync("--cacert", _files.PathOf("ca.pem"), "--cert", stranger.Cert, "--key", stranger.Key,
                "--resolve", $"site.example.com:{mutual}:127.0.0.1", $"https://site.example.com:{mutual}/");
            Assert.NotEqual("ok", result.StdOut);

            string[] expected =
            [
                $"upstream \"untrusted\": cannot connect to 127.0.0.1:{untrusted.Port}: TLS handshake failed: certificate chain not trusted: UntrustedRoot",
                $"upstream \"misnamed\": cannot connect to 127.0.0.1:{misnamed.Port}: TLS handshake failed: certificate does not match the name \"origin.internal\" (RemoteCertificateNameMismatch; it names: other.internal)",
                "listener \"secure\": TLS handshake failed: the client rejected our certificate (OpenSSL: tlsv1 alert unknown ca)",
                "listener \"secure\": TLS handshake failed: the client sent a non-TLS record (first bytes 802E0100020015): closed",
                "listener \"mutual\": client certificate refused: certificate chain not trusted: PartialChain",
            ];
            foreach (var line in expected) await Wait.UntilAsync(() => proxy.StdErr.Contains(line), line + "\nin:\n" + proxy.StdErr);
            Assert.DoesNotContain("net_", proxy.StdErr);
        }
        finally
        {
            File.Delete(configPath);
        }
    }

    /// <summary>Reads until the proxy closes (0 or a reset), at most 10 s.</summary>
    internal static async Task<byte[]> ReadUntilClosedAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
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
}
