using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tls;

/// <summary>
/// [listeners.hsts] end to end with curl over HTTPS, HTTP/1.1 and h2 (ALPN): every final response of the TLS listener
/// carries Strict-Transport-Security exactly once — forwarded (small, large, chunked; an upstream's own field replaced),
/// a respond route, a 404 with no route, a 502 from a dead upstream (plain and as an error_pages body), a 401 from
/// api_key, a 308 from redirect, a 400 for a malformed request — and the same configuration's plain listener never
/// adds it.
/// </summary>
public sealed class HstsTests : IDisposable
{
    private const string Value = "max-age=31536000; includeSubDomains";
    private static readonly string Large = new('x', 100_000);

    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static byte[] Origin(UpstreamRequest r)
    {
        string path = r.RequestLine.Split(' ')[1];
        if (path == "/app/sts") return RawUpstream.Ok("sts", "Strict-Transport-Security: max-age=5\r\n");
        if (path == "/app/large") return RawUpstream.Ok(Large, "strict-transport-security: max-age=6\r\n");
        if (path == "/app/chunked")
            return Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        return RawUpstream.Ok("from-origin");
    }

    private string Config(int origin, int dead)
    {
        _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        return $$"""
            [[listeners]]
            name = "tls"
            bind = "127.0.0.1:0"
            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"
            [listeners.hsts]
            max_age = "8760h"
            include_subdomains = true

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "canned"
            respond = { status = 200, body = "canned" }
            [routes.match]
            path = "/canned"

            [[routes]]
            name = "dead"
            upstream = "dead"
            [routes.match]
            path_prefix = "/dead"

            [[routes]]
            name = "paged"
            upstream = "dead"
            policies = ["pages"]
            [routes.match]
            path_prefix = "/paged"

            [[routes]]
            name = "key"
            upstream = "app"
            policies = ["keys"]
            [routes.match]
            path_prefix = "/key"

            [[routes]]
            name = "go"
            policies = ["moved"]
            [routes.match]
            path_prefix = "/go"

            [[routes]]
            name = "app"
            upstream = "app"
            [routes.match]
            path_prefix = "/app/"

            [upstreams.app]
            servers = ["127.0.0.1:{{origin}}"]

            [upstreams.dead]
            servers = ["127.0.0.1:{{dead}}"]

            [consumers.alice]
            api_keys = ["sha256:{{Gateway.AuthnTestKit.AliceDigest}}"]

            [policies.keys]
            type = "api_key"

            [policies.moved]
            type = "redirect"
            path = "/elsewhere"

            [policies.pages]
            type = "error_pages"
            format = "problem+json"
            """;
    }

    /// <summary>(path, status) each listener answers; /app/sts and /app/large come with the upstream's own field.</summary>
    public static readonly (string Path, int Status)[] Answers =
    [
        ("/app/plain", 200), ("/app/sts", 200), ("/app/large", 200), ("/app/chunked", 200), ("/canned", 200), ("/nowhere", 404),
        ("/dead/x", 502), ("/paged/x", 502), ("/key/x", 401), ("/go/x", 308),
    ];

    private Task<CurlResponse> CurlAsync(string url, int port, bool h2)
        => Curl.GetAsync(h2, url, "--cacert", _files.PathOf("ca.pem"), "--resolve", $"site.example.com:{port}:127.0.0.1");

    private static List<string> Sts(string head) => head.Split("\r\n")
        .Where(l => l.StartsWith("strict-transport-security:", StringComparison.OrdinalIgnoreCase))
        .Select(l => l[(l.IndexOf(':') + 1)..].Trim())
        .ToList();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_answer_on_the_tls_listener_carries_the_field_exactly_once_and_the_plain_listener_none(bool h2)
    {
        await using var origin = new RawUpstream(Origin);
        int dead = ProxyProcess.FreePort();
        await using var proxy = TestProxy.Start(Config(origin.Port, dead));
        int tls = proxy.Port("tls");

        foreach (var (path, status) in Answers)
        {
            var r = await CurlAsync($"https://site.example.com:{tls}{path}", tls, h2);
            Assert.True(status == r.Status, $"{path}: {r.Head}");
            var sts = r.Values("strict-transport-security");
            Assert.True(sts is [Value], $"{path} over {(h2 ? "h2" : "HTTP/1.1")}: {string.Join(" | ", sts)}\n{r.Head}");
        }

        int plain = proxy.Port("web");
        foreach (var (path, status) in Answers)
        {
            var r = await CurlAsync($"http://127.0.0.1:{plain}{path}", plain, h2: false);
            Assert.True(status == r.Status, $"{path}: {r.Head}");
            // The plain listener adds nothing and leaves the upstream's own field as it came.
            var expected = path switch { "/app/sts" => new[] { "max-age=5" }, "/app/large" => ["max-age=6"], _ => [] };
            var sts = r.Values("strict-transport-security");
            Assert.True(sts.SequenceEqual(expected), $"plain {path}: {string.Join(" | ", sts)}\n{r.Head}");
        }
    }

    [Fact]
    public async Task A_malformed_request_on_the_tls_listener_gets_its_400_with_the_field()
    {
        await using var origin = new RawUpstream(Origin);
        await using var proxy = TestProxy.Start(Config(origin.Port, ProxyProcess.FreePort()));

        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", proxy.Port("tls"));
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "site.example.com",
            ApplicationProtocols = [SslApplicationProtocol.Http11],
        });
        // Two Host fields: refused before any route is looked at.
        await tls.WriteAsync("GET /app/x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"u8.ToArray());
        var text = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int n;
        while ((n = await tls.ReadAsync(buffer, cts.Token)) > 0) text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        var head = text.ToString();
        Assert.StartsWith("HTTP/1.1 400 ", head);
        Assert.Equal([Value], Sts(head[..head.IndexOf("\r\n\r\n", StringComparison.Ordinal)]));
        Assert.Empty(origin.Requests);
    }
}
