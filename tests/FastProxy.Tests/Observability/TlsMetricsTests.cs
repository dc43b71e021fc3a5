using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tls;

namespace FastProxy.Tests.Observability;

/// <summary>TLS handshakes and their failures by reason, on an https listener, with curl and raw sockets.</summary>
public sealed class TlsMetricsTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static (string, string) L(string name, string value) => (name, value);

    [Fact]
    public async Task Handshakes_and_failed_handshakes_are_counted_by_listener_and_reason()
    {
        var ca = _files.Ca("ca");
        var cert = _files.Server("a", ["a.example.com"]);
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start("""
            [admin]
            bind = "127.0.0.1:0"
            """ + "\n" + TlsTerminationTests.Config(upstream.Port, TlsTerminationTests.Entry(cert.Cert, cert.Key)));
        int port = proxy.Port();

        // Two good handshakes (curl, verified against the CA).
        for (int i = 0; i < 2; i++)
        {
            var ok = await TlsTerminationTests.Curl(port, "a.example.com", ca, "-o", "/dev/null", "-w", "%{http_code}");
            Assert.Equal("200", ok.StdOut);
        }
        // Plain HTTP to the TLS port: answered 400 in plain text, and counted as a failed handshake.
        using (var plain = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            await plain.ConnectAsync("127.0.0.1", port);
            await plain.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
            var buffer = new byte[512];
            int n = await plain.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.StartsWith("HTTP/1.1 400", Encoding.ASCII.GetString(buffer, 0, n));
        }
        // A client that does not trust our certificate (curl without the CA) gives up during the handshake.
        var refused = await Processes.CurlAsync("--resolve", $"a.example.com:{port}:127.0.0.1", $"https://a.example.com:{port}/");
        Assert.NotEqual(0, refused.ExitCode);

        var m = await MetricsScrape.UntilAsync(proxy.Host.AdminEndPoint!,
            s => s.Sum("fastproxy_tls_handshake_failures_total", L("listener", "web")) >= 2, "both failures to be counted");
        await MetricsScrape.CheckAsync(m.Text);
        Assert.Equal(2, m.Value("fastproxy_tls_handshakes_total", L("listener", "web")));
        Assert.Equal(1, m.Value("fastproxy_tls_handshake_failures_total", L("listener", "web"), L("reason", "plain_http")));
        Assert.Equal(1, m.Value("fastproxy_tls_handshake_failures_total", L("listener", "web"), L("reason", "certificate_rejected")));
        Assert.Equal(2, m.Sum("fastproxy_tls_handshake_failures_total"));
        // The failed ones never became requests; the two good ones did.
        Assert.Equal(2, m.Sum("fastproxy_requests_total"));
        // Four connections: two curls, the plain one, the refusing curl (as http1 or h2, whatever ALPN chose).
        Assert.Equal(4, m.Sum("fastproxy_connections_total", L("listener", "web"), L("tls", "true")));
    }
}
