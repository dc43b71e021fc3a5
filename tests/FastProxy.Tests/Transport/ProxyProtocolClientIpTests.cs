using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.ProxyProtocol.ProxyHeaderBytes;
using static FastProxy.Tests.Transport.ProxyProtocolClients;
using static FastProxy.Tests.Transport.ProxyProtocolTests;

namespace FastProxy.Tests.Transport;

/// <summary>
/// The PROXY header's address is the peer [client_ip] starts from: it replaces the socket's address (the load
/// balancer's), so an X-Forwarded-For is believed only when that address is itself a trusted proxy. And the peer a
/// pooled connection resolves from is always its own client's, never the previous connection's.
/// </summary>
public sealed class ProxyProtocolClientIpTests
{
    private static RawUpstream EchoClient() => new(r => RawUpstream.Ok($"xff={r.Header("X-Forwarded-For")}"));

    private static async Task<string> GetWithForwardedForAsync(HttpClient client, string url, Version version, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        using var response = await client.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task A_client_behind_the_header_cannot_forge_X_Forwarded_For_although_the_load_balancer_is_trusted()
    {
        await using var upstream = EchoClient();
        await using var proxy = TestProxy.Start(Config([upstream.Port]));
        var url = $"http://127.0.0.1:{proxy.Port()}/";

        // The socket's peer (127.0.0.1) is trusted; the header's (203.0.113.7) is not, and it is the peer now.
        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            using var http = HttpClientWith(V1(IPAddress.Parse("203.0.113.7"), IPAddress.Loopback));
            Assert.Equal("xff=203.0.113.7", await GetWithForwardedForAsync(http, url, version, "6.6.6.6"));
        }
    }

    [Fact]
    public async Task Behind_a_header_naming_a_trusted_proxy_X_Forwarded_For_is_believed_and_appended_to()
    {
        await using var a = new RawUpstream(r => RawUpstream.Ok($"a xff={r.Header("X-Forwarded-For")}"));
        await using var b = new RawUpstream(r => RawUpstream.Ok($"b xff={r.Header("X-Forwarded-For")}"));
        await using var proxy = TestProxy.Start(Config([a.Port, b.Port], balance: "ip_hash", trusted: "\"127.0.0.1/32\", \"10.0.0.0/8\""));
        var url = $"http://127.0.0.1:{proxy.Port()}/";

        // A load balancer (127.0.0.1) in front of another proxy (10.0.0.9) in front of the client.
        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            using var http = HttpClientWith(V2(IPAddress.Parse("10.0.0.9"), IPAddress.Loopback));
            var answer = await GetWithForwardedForAsync(http, url, version, "198.51.100.4");
            Assert.EndsWith("xff=198.51.100.4, 10.0.0.9", answer);
        }

        // ip_hash uses the client so resolved: whichever proxy address the header names, one client, one server.
        var servers = new HashSet<string>();
        for (int hop = 1; hop <= 8; hop++)
        {
            using var http = HttpClientWith(V2(IPAddress.Parse($"10.0.0.{hop}"), IPAddress.Loopback));
            servers.Add((await GetWithForwardedForAsync(http, url, HttpVersion.Version11, "198.51.100.4"))[..1]);
        }
        Assert.Single(servers);
    }

    [Fact]
    public async Task A_pooled_connection_resolves_from_its_own_peer_not_the_previous_connections()
    {
        await using var upstream = EchoClient();
        // No proxy_protocol here: the peer is the socket's. 127.0.0.1 is trusted, 127.0.0.2 is not.
        await using var proxy = TestProxy.Start(Config([upstream.Port], proxyProtocol: false));
        var services = proxy.Host.Services;

        // Sequential connections, each closed before the next: the next one takes the instance the last one left
        // in the pool (parser state and all), in both orders, a few times.
        for (int round = 0; round < 3; round++)
        {
            Assert.Equal("xff=203.0.113.9, 127.0.0.1", await OneRequestAsync(proxy.Port(), IPAddress.Loopback, "203.0.113.9"));
            await Wait.UntilAsync(() => services.ActiveConnections == 0, "the trusted connection to close");
            // A forged X-Forwarded-For from an untrusted peer is replaced, whoever used the instance before.
            Assert.Equal("xff=127.0.0.2", await OneRequestAsync(proxy.Port(), IPAddress.Parse("127.0.0.2"), "6.6.6.6"));
            await Wait.UntilAsync(() => services.ActiveConnections == 0, "the untrusted connection to close");
        }
    }

    private static async Task<string> OneRequestAsync(int port, IPAddress from, string forwardedFor)
    {
        using var socket = await ConnectAsync(port, from);
        using var stream = new NetworkStream(socket);
        var response = await RoundTripAsync(stream, $"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: {forwardedFor}\r\nConnection: close\r\n\r\n");
        return response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    }
}
