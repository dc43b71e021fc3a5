using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// ip_filter in a running proxy, with curl over HTTP/1.1 and HTTP/2 from real loopback addresses (127.0.0.1, 127.0.0.2
/// and ::1 are different clients to the proxy), a counting origin behind it, [client_ip] and reload.
/// </summary>
public sealed class IpFilterLoopbackTests
{
    private static string Config(int upstream, string policy, string top = "", string listenerPolicies = "", string match = "") => $$"""
        {{top}}
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        policies = [{{listenerPolicies}}]

        [[listeners]]
        name = "web6"
        bind = "[::1]:0"
        policies = [{{listenerPolicies}}]

        [[routes]]
        name = "app"
        upstream = "app"
        policies = [{{(listenerPolicies.Length > 0 ? "" : "\"edge\"")}}]
        {{match}}

        [upstreams.app]
        servers = ["127.0.0.1:{{upstream}}"]

        [policies.edge]
        type = "ip_filter"
        {{policy}}
        """;

    private static string V4(TestProxy proxy, string path = "/x") => $"http://127.0.0.1:{proxy.Port()}{path}";

    private static string V6(TestProxy proxy, string path = "/x") => $"http://[::1]:{proxy.Port("web6")}{path}";

    [Fact]
    public async Task Allowed_addresses_reach_the_origin_and_the_others_get_403_over_IPv4_and_IPv6_on_both_protocols()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "allow = [\"127.0.0.1\", \"::1\"]"));
        int expected = 0;
        foreach (bool h2 in new[] { false, true })
        {
            var allowed = await CurlAsync(h2, V4(proxy), from: "127.0.0.1");
            Assert.Equal((200, "ok"), (allowed.Status, allowed.Body));
            var allowed6 = await CurlAsync(h2, V6(proxy), from: "::1");
            Assert.Equal((200, "ok"), (allowed6.Status, allowed6.Body));
            expected += 2;

            var refused = await CurlAsync(h2, V4(proxy), from: "127.0.0.2");
            Assert.Equal((403, "403 Forbidden\n"), (refused.Status, refused.Body));
            Assert.Equal(expected, upstream.Requests.Count);
        }

        // Reload: ::1 and 127.0.0.0/8 denied now, everything else still allowed; a 404 hides the route.
        proxy.Reload(Config(upstream.Port, "deny = [\"::1\", \"127.0.0.0/8\"]\nstatus = 404"));
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal(404, (await CurlAsync(h2, V4(proxy), from: "127.0.0.1")).Status);
            var hidden = await CurlAsync(h2, V6(proxy), from: "::1");
            Assert.Equal((404, "404 Not Found\n"), (hidden.Status, hidden.Body));
        }
        Assert.Equal(expected, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_refusal_keeps_the_connection_and_the_next_request_on_it_is_judged_again()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "deny = [\"127.0.0.2\"]"));
        // Two requests on one connection each time (curl reuses it): both refused from .2, both forwarded from .1.
        var refused = await Processes.CurlAsync("--interface", "127.0.0.2", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
            V4(proxy, "/a"), V4(proxy, "/b"));
        Assert.Equal("403 1\n403 0\n", refused.StdOut);
        var allowed = await Processes.CurlAsync("--interface", "127.0.0.1", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
            V4(proxy, "/a"), V4(proxy, "/b"));
        Assert.Equal("200 1\n200 0\n", allowed.StdOut);
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_its_X_Forwarded_For_decides()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "allow = [\"203.0.113.0/24\"]",
            top: "[client_ip]\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]\n"));
        foreach (bool h2 in new[] { false, true })
        {
            // The rightmost address a trusted proxy did not write is the client: 203.0.113.9, allowed.
            var allowed = await CurlAsync(h2, V4(proxy), from: "127.0.0.1", "-H", "X-Forwarded-For: 198.51.100.1, 203.0.113.9");
            Assert.Equal(200, allowed.Status);
            Assert.Equal("198.51.100.1, 203.0.113.9, 127.0.0.1", upstream.Requests[^1].Header("X-Forwarded-For"));
            var allowed6 = await CurlAsync(h2, V6(proxy), from: "::1", "-H", "X-Forwarded-For: 203.0.113.9");
            Assert.Equal(200, allowed6.Status);
            // The client is 198.51.100.1 (whatever it wrote before), or the trusted proxy itself when it names nobody.
            Assert.Equal(403, (await CurlAsync(h2, V4(proxy), from: "127.0.0.1", "-H", "X-Forwarded-For: 203.0.113.9, 198.51.100.1")).Status);
            Assert.Equal(403, (await CurlAsync(h2, V4(proxy), from: "127.0.0.1")).Status);
        }
        Assert.Equal(4, upstream.Requests.Count);
    }

    [Fact]
    public async Task From_an_untrusted_peer_a_forged_X_Forwarded_For_is_ignored_and_replaced()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "allow = [\"203.0.113.0/24\", \"127.0.0.2\"]",
            top: "[client_ip]\ntrusted_proxies = [\"127.0.0.1\"]\n"));
        foreach (bool h2 in new[] { false, true })
        {
            // 127.0.0.3 is no trusted proxy: its claim to be 203.0.113.9 counts for nothing.
            var forged = await CurlAsync(h2, V4(proxy), from: "127.0.0.3", "-H", "X-Forwarded-For: 203.0.113.9");
            Assert.Equal(403, forged.Status);
            Assert.Empty(upstream.Requests);
        }
        foreach (bool h2 in new[] { false, true })
        {
            // 127.0.0.2 is allowed as itself; the upstream is told 127.0.0.2 only, not the forged list with it appended.
            var allowed = await CurlAsync(h2, V4(proxy), from: "127.0.0.2", "-H", "X-Forwarded-For: 203.0.113.9, 10.0.0.1");
            Assert.Equal(200, allowed.Status);
            Assert.Equal("127.0.0.2", upstream.Requests[^1].Header("X-Forwarded-For"));
        }
    }

    [Fact]
    public async Task A_listener_filter_refuses_even_where_no_route_matches()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "deny = [\"127.0.0.2\", \"::1\"]",
            listenerPolicies: "\"edge\"", match: "[routes.match]\npath_prefix = \"/api/\""));
        foreach (bool h2 in new[] { false, true })
        {
            // A denied client learns nothing about which paths exist: 403 for a path no route serves too.
            Assert.Equal(403, (await CurlAsync(h2, V4(proxy, "/nowhere"), from: "127.0.0.2")).Status);
            Assert.Equal(403, (await CurlAsync(h2, V4(proxy, "/api/x"), from: "127.0.0.2")).Status);
            Assert.Equal(403, (await CurlAsync(h2, V6(proxy, "/nowhere"), from: "::1")).Status);
            Assert.Equal(404, (await CurlAsync(h2, V4(proxy, "/nowhere"), from: "127.0.0.1")).Status);
            Assert.Equal(200, (await CurlAsync(h2, V4(proxy, "/api/x"), from: "127.0.0.1")).Status);
        }
        Assert.Equal(2, upstream.Requests.Count);
    }
    [Fact]
    public async Task An_HTTP2_stream_is_judged_by_its_own_connections_address()
    {
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(Config(upstream.Port, "allow = [\"127.0.0.1\"]"));
        // Four connections at once from 127.0.0.2, refused; their (pooled) exchange instances go back to the pool
        // having judged 127.0.0.2. An HTTP/2 stream's exchange is one of them, started for another connection.
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                await socket.ConnectAsync(proxy.EndPoint());
            }
            foreach (var socket in sockets) await socket.SendAsync("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            foreach (var socket in sockets)
            {
                var received = new StringBuilder();
                var buffer = new byte[1024];
                while (!received.ToString().EndsWith("403 Forbidden\n", StringComparison.Ordinal))
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    Assert.True(n > 0, "closed before the answer: " + received);
                    received.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                Assert.StartsWith("HTTP/1.1 403 ", received.ToString());
            }
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }
        await Wait.UntilAsync(() => proxy.Host.Services.ActiveConnections == 0, "the refused connections to close");

        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(200, (await CurlAsync(h2: true, V4(proxy), from: "127.0.0.1")).Status);
        }
        Assert.Equal(4, upstream.Requests.Count);
    }
}
