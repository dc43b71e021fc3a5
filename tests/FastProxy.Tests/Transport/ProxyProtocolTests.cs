using System.Net;
using System.Net.Security;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tls;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderBytes;
using static FastProxy.Tests.Transport.ProxyProtocolClients;

namespace FastProxy.Tests.Transport;

/// <summary>
/// proxy_protocol = true on an http listener, over real loopback sockets: the PROXY protocol header (v1 and v2) comes
/// first, then HTTP/1.1, h2c with prior knowledge, or TLS (HTTP/1.1 and h2 by ALPN), and the origin sees the header's
/// address as the client in X-Forwarded-For, on every request and stream of the connection; ip_hash follows it too.
/// Refusals (untrusted peers, malformed and slow headers) are in <see cref="ProxyProtocolRefusalTests"/>.
/// </summary>
public sealed class ProxyProtocolTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>A "web" listener with proxy_protocol = true, trusting 127.0.0.1 only; one upstream "app".</summary>
    internal static string Config(IEnumerable<int> upstreamPorts, string limits = "", string tls = "", string balance = "round_robin",
        string trusted = "\"127.0.0.1/32\"", bool proxyProtocol = true) => $$"""
        [client_ip]
        trusted_proxies = [{{trusted}}]

        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        proxy_protocol = {{(proxyProtocol ? "true" : "false")}}
        [listeners.limits]
        {{limits}}
        {{tls}}

        [[routes]]
        upstream = "app"

        [upstreams.app]
        balance = "{{balance}}"
        servers = [{{string.Join(", ", upstreamPorts.Select(p => $"\"127.0.0.1:{p}\""))}}]
        """;

    private static RawUpstream EchoClient() => new(r => RawUpstream.Ok($"xff={r.Header("X-Forwarded-For")}"));

    [Fact]
    public async Task A_version_1_header_names_the_client_of_every_request_on_the_connection()
    {
        await using var upstream = EchoClient();
        await using var proxy = TestProxy.Start(Config([upstream.Port]));
        using var socket = await ConnectAsync(proxy.Port());
        using var stream = new System.Net.Sockets.NetworkStream(socket);

        // The header and the first request in one segment, as a load balancer sends them.
        await stream.WriteAsync(V1(IPAddress.Parse("203.0.113.7"), IPAddress.Parse("10.0.0.1")));
        var first = await RoundTripAsync(stream, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
        var second = await RoundTripAsync(stream, "GET /two HTTP/1.1\r\nHost: a\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", first);
        Assert.EndsWith("xff=203.0.113.7", first);
        Assert.EndsWith("xff=203.0.113.7", second);
        Assert.Equal(["GET /one HTTP/1.1", "GET /two HTTP/1.1"], upstream.Requests.Select(r => r.RequestLine));
    }

    [Theory]
    [InlineData("198.51.100.23")]
    [InlineData("2001:db8::7")]
    [InlineData("::ffff:192.0.2.9")]
    public async Task A_version_2_header_names_the_client_IPv4_or_IPv6(string client)
    {
        await using var upstream = EchoClient();
        await using var proxy = TestProxy.Start(Config([upstream.Port]));
        var address = IPAddress.Parse(client);
        var destination = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;
        using var http = HttpClientWith(V2(address, destination, 40000, 8080, Tlv(0x02, "a.example"u8.ToArray())));

        var (status, _, body) = await GetAsync(http, $"http://127.0.0.1:{proxy.Port()}/", HttpVersion.Version11);

        Assert.Equal(HttpStatusCode.OK, status);
        // An IPv4-mapped address is the IPv4 client it stands for, as on a dual-stack socket.
        Assert.Equal("xff=" + (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address), body);
    }

    [Fact]
    public async Task h2c_with_prior_knowledge_after_the_header_gives_every_stream_the_headers_client()
    {
        await using var upstream = EchoClient();
        await using var proxy = TestProxy.Start(Config([upstream.Port]));
        using var http = HttpClientWith(V2(IPAddress.Parse("192.0.2.77"), IPAddress.Loopback));
        var url = $"http://127.0.0.1:{proxy.Port()}/";

        // Concurrent requests: several streams of the one HTTP/2 connection.
        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => GetAsync(http, url, HttpVersion.Version20)));

        Assert.All(answers, a =>
        {
            Assert.Equal(HttpStatusCode.OK, a.Status);
            Assert.Equal(HttpVersion.Version20, a.Version);
            Assert.Equal("xff=192.0.2.77", a.Body);
        });
        Assert.Equal(4, upstream.Requests.Count);
    }

    [Fact]
    public async Task On_a_TLS_listener_the_header_comes_before_the_ClientHello()
    {
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = EchoClient();
        await using var proxy = TestProxy.Start(Config([upstream.Port], tls: TlsTerminationTests.Entry(site.Cert, site.Key)));

        // SslStream over the socket once the header is sent: HTTP/1.1 inside TLS.
        using (var socket = await ConnectAsync(proxy.Port()))
        {
            await socket.SendAsync(V1("PROXY TCP4 203.0.113.50 10.0.0.1 51000 443\r\n"));
            using var ssl = new SslStream(new System.Net.Sockets.NetworkStream(socket), false, (_, _, _, _) => true);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "site.example.com",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
            });
            var response = await RoundTripAsync(ssl, "GET /tls HTTP/1.1\r\nHost: site.example.com\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200", response);
            Assert.EndsWith("xff=203.0.113.50", response);
        }

        // A real client over TLS with h2 chosen by ALPN, behind a version 2 header.
        using var http = HttpClientWith(V2(IPAddress.Parse("2001:db8::50"), IPAddress.IPv6Loopback));
        var (status, version, body) = await GetAsync(http, $"https://127.0.0.1:{proxy.Port()}/h2", HttpVersion.Version20);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpVersion.Version20, version);
        Assert.Equal("xff=2001:db8::50", body);
    }

    [Fact]
    public async Task Headers_that_name_nobody_keep_the_peer_as_the_client()
    {
        await using var upstream = EchoClient();
        await using var proxy = TestProxy.Start(Config([upstream.Port]));
        var url = $"http://127.0.0.1:{proxy.Port()}/";

        // A load balancer's own health check (v2 LOCAL), v1 UNKNOWN, and v2 over AF_UNIX: the socket's peer.
        foreach (var header in new[] { V2(0x20, 0x00, []), V1("PROXY UNKNOWN\r\n"), V2(0x21, 0x31, new byte[216]) })
        {
            using var http = HttpClientWith(header);
            var (status, _, body) = await GetAsync(http, url, HttpVersion.Version11);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("xff=127.0.0.1", body);
        }
    }

    [Fact]
    public async Task ip_hash_follows_the_address_in_the_header_not_the_load_balancers()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var b = new RawUpstream(_ => RawUpstream.Ok("b"));
        await using var proxy = TestProxy.Start(Config([a.Port, b.Port], balance: "ip_hash"));
        var url = $"http://127.0.0.1:{proxy.Port()}/";

        // Every connection comes from 127.0.0.1: only the headers' addresses can spread them. Each client, on a
        // connection of its own each time, lands where it landed before.
        var first = new Dictionary<int, string>();
        for (int round = 0; round < 2; round++)
        {
            for (int client = 1; client <= 16; client++)
            {
                using var http = HttpClientWith(V1(IPAddress.Parse($"198.51.100.{client}"), IPAddress.Parse("10.0.0.1")));
                var (_, _, server) = await GetAsync(http, url, HttpVersion.Version11);
                if (round == 0) first[client] = server;
                else Assert.Equal(first[client], server);
            }
        }
        Assert.Contains("a", first.Values);
        Assert.Contains("b", first.Values);
    }

    [Fact]
    public async Task curl_with_haproxy_protocol_is_served_over_http_and_https_h2()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = EchoClient();
        await using var plain = TestProxy.Start(Config([upstream.Port]));
        await using var tls = TestProxy.Start(Config([upstream.Port], tls: TlsTerminationTests.Entry(site.Cert, site.Key)));

        // curl's header names its own end of the connection (127.0.0.1 here): v1, "PROXY TCP4 ... \r\n".
        var http = await Processes.CurlAsync("--haproxy-protocol", "-w", " %{http_code}", $"http://127.0.0.1:{plain.Port()}/");
        Assert.True(http.ExitCode == 0, http.StdErr);
        Assert.Equal("xff=127.0.0.1 200", http.StdOut);

        var https = await Processes.CurlAsync("--haproxy-protocol", "--http2", "--cacert", ca,
            "--resolve", $"site.example.com:{tls.Port()}:127.0.0.1", "-w", " %{http_version}", $"https://site.example.com:{tls.Port()}/");
        Assert.True(https.ExitCode == 0, https.StdErr);
        Assert.Equal("xff=127.0.0.1 2", https.StdOut);

        // Without the option, the same header is an HTTP request line that cannot be: 400.
        await using var off = TestProxy.Start(Config([upstream.Port], proxyProtocol: false));
        var refused = await Processes.CurlAsync("--haproxy-protocol", "-w", "%{http_code}", "-o", "/dev/null", $"http://127.0.0.1:{off.Port()}/");
        Assert.Equal("400", refused.StdOut);
    }

    [Fact]
    public async Task A_reload_that_turns_proxy_protocol_on_applies_to_new_connections()
    {
        await using var upstream = EchoClient();
        await using var proxy = TestProxy.Start(Config([upstream.Port], proxyProtocol: false));
        int port = proxy.Port();
        using (var before = new System.Net.Http.HttpClient())
        {
            Assert.Equal("xff=127.0.0.1", await before.GetStringAsync($"http://127.0.0.1:{port}/"));
        }

        proxy.Reload(Config([upstream.Port]));

        using (var socket = await ConnectAsync(port))
        {
            await socket.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
            Assert.Equal(Array.Empty<byte>(), await ReadUntilClosedAsync(socket, TimeSpan.FromSeconds(10)));
        }
        using var after = HttpClientWith(V1(IPAddress.Parse("192.0.2.200"), IPAddress.Loopback));
        Assert.Equal("xff=192.0.2.200", (await GetAsync(after, $"http://127.0.0.1:{port}/", HttpVersion.Version11)).Body);
    }
}
