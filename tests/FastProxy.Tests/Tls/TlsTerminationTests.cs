using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tls;

/// <summary>
/// [[listeners.tls]] on an http listener, driven by real clients (curl with --resolve for SNI, openssl s_client): the
/// certificate chosen by server name, ALPN, protocol versions, session resumption, and what reaches the upstream.
/// </summary>
public sealed class TlsTerminationTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>One https listener "web" with the given [[listeners.tls]] entries, every request to upstream "app".</summary>
    public static string Config(int upstreamPort, string tls, string limits = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        [listeners.limits]
        {{limits}}
        {{tls}}

        [[routes]]
        upstream = "app"

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]
        """;

    public static string Entry(string cert, string key, string extra = "") => $"""

        [[listeners.tls]]
        cert = "{cert}"
        key = "{key}"
        {extra}
        """;

    public static Task<ProcessResult> Curl(int port, string name, string ca, params string[] more)
        => Processes.CurlAsync(["-v", "--cacert", ca, "--resolve", $"{name}:{port}:127.0.0.1", .. more, $"https://{name}:{port}/hello"]);

    /// <summary>openssl s_client: the handshake, one request, the answer (stdout holds the certificate and session details).</summary>
    public static Task<ProcessResult> SClient(int port, IEnumerable<string> options, string host = "x")
        => Processes.RunAsync("openssl", ["s_client", "-connect", $"127.0.0.1:{port}", "-ign_eof", .. options],
            TimeSpan.FromSeconds(20), stdin: $"GET /s HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");

    [Fact]
    public async Task The_certificate_is_chosen_by_server_name_exact_wildcard_and_default()
    {
        var ca = _files.Ca("ca");
        var a = _files.Server("a", ["a.example.com"], rsa: true);
        var net = _files.Server("net", ["*.example.net"]);
        var other = _files.Server("other", ["other.example.org"], commonName: "other");
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port,
            Entry(a.Cert, a.Key) + Entry(net.Cert, net.Key) + Entry(other.Cert, other.Key, """sni = ["c.example.org"]""")));
        int port = proxy.Port();

        // Exact (an RSA certificate), verified by curl against the CA.
        var result = await Curl(port, "a.example.com", ca);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("ok", result.StdOut);
        Assert.Contains("subject: CN=a.example.com", result.StdErr);
        Assert.Contains("ALPN: server accepted h2", result.StdErr); // curl offers h2 first (TlsHttp2Tests)

        // Wildcard (an ECDSA certificate), one label or several; case-insensitive.
        result = await Curl(port, "x.example.net", ca);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("subject: CN=*.example.net", result.StdErr);
        result = await Curl(port, "A.B.Example.NET", ca, "-k");
        Assert.Contains("subject: CN=*.example.net", result.StdErr);

        // `sni` replaces the certificate's own names: "other.example.org" no longer picks it, "c.example.org" does.
        var sclient = await SClient(port, ["-servername", "c.example.org"]);
        Assert.Contains("subject=CN = other", sclient.StdOut);
        sclient = await SClient(port, ["-servername", "other.example.org"]);
        Assert.Contains("subject=CN = a.example.com", sclient.StdOut);

        // Unknown name, and no name at all: the first entry.
        result = await Curl(port, "unknown.example.com", ca, "-k");
        Assert.Contains("subject: CN=a.example.com", result.StdErr);
        Assert.Equal("ok", result.StdOut);
        sclient = await SClient(port, ["-noservername"]);
        Assert.Contains("subject=CN = a.example.com", sclient.StdOut);
        Assert.Contains("HTTP/1.1 200 OK", sclient.StdOut);
    }

    [Fact]
    public async Task Terminated_requests_reach_the_upstream_with_X_Forwarded_Proto_https_over_keep_alive()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"{r.RequestLine} body={System.Text.Encoding.ASCII.GetString(r.Body)} conn={r.ConnectionId}"));
        await using var proxy = TestProxy.Start(Config(upstream.Port, Entry(site.Cert, site.Key)));
        int port = proxy.Port();

        // Two requests in one curl run: the second reuses the TLS connection.
        var result = await Processes.CurlAsync("-v", "--cacert", ca, "--resolve", $"site.example.com:{port}:127.0.0.1",
            "--data-binary", "payload-1", $"https://site.example.com:{port}/one",
            "--next", "--cacert", ca, "--resolve", $"site.example.com:{port}:127.0.0.1", $"https://site.example.com:{port}/two?x=1");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("POST /one HTTP/1.1 body=payload-1 conn=1GET /two?x=1 HTTP/1.1 body= conn=1", result.StdOut);
        Assert.Contains("Re-using existing", result.StdErr);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(result.StdErr, "SSL connection using"));

        Assert.Equal(2, upstream.Requests.Count);
        foreach (var request in upstream.Requests)
        {
            Assert.Equal("https", request.Header("X-Forwarded-Proto"));
            Assert.Equal($"site.example.com:{port}", request.Header("Host"));
            Assert.Equal("127.0.0.1", request.Header("X-Forwarded-For"));
        }
    }

    [Fact]
    public async Task Only_TLS_1_2_and_1_3_are_accepted_and_ALPN_picks_h2_then_http_1_1()
    {
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, Entry(site.Cert, site.Key)));
        int port = proxy.Port();

        foreach (var (option, version) in new[] { ("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3") })
        {
            var ok = await SClient(port, [option, "-servername", "site.example.com", "-alpn", "http/1.1"]);
            Assert.Contains($"New, {version}, Cipher is", ok.StdOut);
            Assert.Contains("ALPN protocol: http/1.1", ok.StdOut);
            Assert.Contains("HTTP/1.1 200 OK", ok.StdOut);
        }

        // A client offering both gets h2 (served over TLS: TlsHttp2Tests).
        var both = await SClient(port, ["-servername", "site.example.com", "-alpn", "h2,http/1.1"]);
        Assert.Contains("ALPN protocol: h2", both.StdOut);

        int before = upstream.Requests.Count;
        foreach (var option in new[] { "-tls1_1", "-tls1" })
        {
            var old = await SClient(port, [option, "-servername", "site.example.com", "-cipher", "DEFAULT@SECLEVEL=0"]);
            Assert.NotEqual(0, old.ExitCode);
            Assert.DoesNotContain("HTTP/1.1 200 OK", old.StdOut);
        }
        Assert.Equal(before, upstream.Requests.Count);
    }

    [Theory]
    [InlineData("-tls1_3")]
    [InlineData("-tls1_2")]
    public async Task Sessions_are_resumed(string version)
    {
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, Entry(site.Cert, site.Key)));
        string session = _files.PathOf("session" + version);

        // The request keeps the first connection open until the TLS 1.3 tickets (sent after the handshake) have arrived.
        var first = await SClient(proxy.Port(), [version, "-servername", "site.example.com", "-sess_out", session]);
        Assert.Contains("HTTP/1.1 200 OK", first.StdOut);
        Assert.Contains("New, TLSv1.", first.StdOut);
        Assert.True(new FileInfo(session).Length > 0);

        var second = await SClient(proxy.Port(), [version, "-servername", "site.example.com", "-sess_in", session]);
        Assert.Contains("Reused, TLSv1.", second.StdOut);
        Assert.Contains("HTTP/1.1 200 OK", second.StdOut);
    }

    [Fact]
    public async Task Intermediates_in_the_certificate_file_are_sent_with_the_leaf()
    {
        var root = _files.Ca("root");
        _files.Ca("intermediate", issuer: "root");
        var site = _files.Server("site", ["site.example.com"], ca: "intermediate");
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, Entry(site.Cert, site.Key)));

        // curl trusts the root only: the chain verifies only if the proxy sent the intermediate.
        var result = await Curl(proxy.Port(), "site.example.com", root);
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal("ok", result.StdOut);
        Assert.Contains("issuer: CN=intermediate", result.StdErr);
    }
}
