using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tcp;
using FastProxy.Tests.Tls;
using FastProxy.Transport;

namespace FastProxy.Tests.Hosting;

/// <summary>
/// Reload and sockets: a reload binds every new socket before it lets go of an old one, so a refused reload leaves
/// every listener (and the admin listener) exactly where it was; listeners whose address did not change keep their socket.
/// </summary>
public sealed class ReloadBindTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>One http listener "web" answering <paramref name="body"/> to everything.</summary>
    private static string Web(string bind, string body, string listenerExtra = "", string top = "") => $$"""
        {{top}}
        [[listeners]]
        name = "web"
        bind = "{{bind}}"
        {{listenerExtra}}

        [[routes]]
        respond = { status = 200, body = "{{body}}" }
        """;

    [Fact]
    public async Task Moving_a_listener_to_a_taken_port_is_refused_and_the_old_port_keeps_answering()
    {
        using var holder = PortHolder.Plain();
        await using var proxy = TestProxy.Start(Web("127.0.0.1:0", "first"));
        int port = proxy.Port();
        using var kept = new RawClient(port);
        kept.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.EndsWith("first", await kept.ReadResponseAsync());

        var refused = Assert.Throws<ListenerBindException>(() => proxy.Reload(Web($"127.0.0.1:{holder.Port}", "second")));

        Assert.Equal($"listener \"web\": cannot bind 127.0.0.1:{holder.Port}: address already in use", refused.Message);
        Assert.Equal(port, proxy.Port());
        // Before the fix the old socket was closed before the new bind: nothing listened on the old port any more.
        Assert.Equal("first", await PortHolder.GetBodyAsync(port));
        kept.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.EndsWith("first", await kept.ReadResponseAsync());

        // Once the port is free, the same move goes through and the old port is let go.
        int free = ProxyProcess.FreePort();
        proxy.Reload(Web($"127.0.0.1:{free}", "second"));
        Assert.Equal("second", await PortHolder.GetBodyAsync(free));
        await Wait.UntilAsync(() => !PortHolder.Accepts(port), "the old port released");
    }

    [Fact]
    public async Task Adding_a_listener_on_a_taken_port_while_changing_a_route_is_refused_and_the_routes_stay()
    {
        using var holder = PortHolder.Plain();
        await using var proxy = TestProxy.Start(Web("127.0.0.1:0", "first"));
        int port = proxy.Port();

        var refused = Assert.Throws<ListenerBindException>(() => proxy.Reload(Web("127.0.0.1:0", "second", top: $$"""
            [[listeners]]
            name = "more"
            bind = "127.0.0.1:{{holder.Port}}"
            """)));

        Assert.Equal($"listener \"more\": cannot bind 127.0.0.1:{holder.Port}: address already in use", refused.Message);
        Assert.Equal("first", await PortHolder.GetBodyAsync(port));
        Assert.Equal(["web"], proxy.Host.EndPoints.Keys);
        Assert.Single(proxy.Host.Config.Listeners);
    }

    [Fact]
    public async Task A_refused_reload_leaves_tls_tcp_and_admin_listeners_where_they_were()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var backend = TcpBackend.Named("backend");
        using var holder = PortHolder.Plain();
        int admin = ProxyProcess.FreePort();
        string Config(string webBind, string tcpBind, int adminPort) => $$"""
            [admin]
            bind = "127.0.0.1:{{adminPort}}"

            [[listeners]]
            name = "web"
            bind = "{{webBind}}"
            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"

            [[listeners]]
            name = "tcp"
            bind = "{{tcpBind}}"
            protocol = "tcp"
            upstream = "app"

            [[routes]]
            listeners = ["web"]
            respond = { status = 200, body = "tls" }

            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{backend.Port}}" } ]
            """;
        await using var proxy = TestProxy.Start(Config("127.0.0.1:0", "127.0.0.1:0", admin));
        int web = proxy.Port("web"), tcp = proxy.Port("tcp");
        int nextWeb = ProxyProcess.FreePort(), nextAdmin = ProxyProcess.FreePort();

        // web and the admin listener move to free ports (bound first), then tcp's port is taken: all refused.
        var refused = Assert.Throws<ListenerBindException>(() => proxy.Reload(Config($"127.0.0.1:{nextWeb}", $"127.0.0.1:{holder.Port}", nextAdmin)));

        Assert.Equal($"listener \"tcp\": cannot bind 127.0.0.1:{holder.Port}: address already in use", refused.Message);
        Assert.Equal(web, proxy.Port("web"));
        Assert.Equal(tcp, proxy.Port("tcp"));
        Assert.Equal(admin, proxy.Host.AdminEndPoint!.Port);
        var https = await TlsTerminationTests.Curl(web, "site.example.com", ca);
        Assert.Equal("tls", https.StdOut);
        using (var client = await TcpTestClient.ConnectAsync(tcp))
            Assert.Equal("backend", await client.ReadLineAsync());
        Assert.Equal("ok\n", await AdminBodyAsync(admin));
        // What the refused reload had bound is closed again.
        Assert.False(PortHolder.Accepts(nextWeb));
        Assert.False(PortHolder.Accepts(nextAdmin));
    }

    [Fact]
    public async Task Two_listeners_can_swap_ports_and_a_swap_refused_by_a_third_leaves_both()
    {
        using var holder = PortHolder.Plain();
        int a = ProxyProcess.FreePort(), b = ProxyProcess.FreePort();
        string Config(int portOfA, int portOfB, string third = "") => $$"""
            [[listeners]]
            name = "a"
            bind = "127.0.0.1:{{portOfA}}"
            [[listeners]]
            name = "b"
            bind = "127.0.0.1:{{portOfB}}"
            {{third}}

            [[routes]]
            listeners = ["a"]
            respond = { status = 200, body = "a" }
            [[routes]]
            listeners = ["b"]
            respond = { status = 200, body = "b" }
            """;
        await using var proxy = TestProxy.Start(Config(a, b));
        Assert.Equal("a", await PortHolder.GetBodyAsync(a));

        // The swap needs the other's socket gone first; the third listener's port is taken, so nothing may move.
        Assert.Throws<ListenerBindException>(() => proxy.Reload(Config(b, a, $"[[listeners]]\nname = \"c\"\nbind = \"127.0.0.1:{holder.Port}\"")));
        Assert.Equal("a", await PortHolder.GetBodyAsync(a));
        Assert.Equal("b", await PortHolder.GetBodyAsync(b));

        proxy.Reload(Config(b, a));
        Assert.Equal("b", await PortHolder.GetBodyAsync(a));
        Assert.Equal("a", await PortHolder.GetBodyAsync(b));
        Assert.Equal(b, proxy.Port("a"));
    }

    [Fact]
    public async Task Changing_reuse_port_rebinds_the_listener_and_a_refused_change_restores_it()
    {
        int port = ProxyProcess.FreePort();
        await using var proxy = TestProxy.Start(Web($"127.0.0.1:{port}", "proxy"));
        // reuse_port = false: nobody may share the port, not even with SO_REUSEPORT.
        Assert.ThrowsAny<System.Net.Sockets.SocketException>(() => PortHolder.Sharing(port));

        proxy.Reload(Web($"127.0.0.1:{port}", "proxy", "reuse_port = true"));
        using (var sharing = PortHolder.Sharing(port))
        {
            var seen = await AnswersUntilBothAsync(port, "proxy", "holder");
            Assert.Contains("proxy", seen);
            Assert.Contains("holder", seen);

            // Back to false while the other socket still shares the port: the rebind fails, the reload is refused and
            // the listener is bound again as it was (sharing).
            var refused = Assert.Throws<ListenerBindException>(() => proxy.Reload(Web($"127.0.0.1:{port}", "changed")));
            Assert.Equal($"listener \"web\": cannot bind 127.0.0.1:{port}: address already in use", refused.Message);
            seen = await AnswersUntilBothAsync(port, "proxy", "holder");
            Assert.Contains("proxy", seen);
            Assert.DoesNotContain("changed", seen);
        }

        // With the other socket gone, the change back to an exclusive port goes through.
        proxy.Reload(Web($"127.0.0.1:{port}", "exclusive"));
        Assert.Equal("exclusive", await PortHolder.GetBodyAsync(port));
        Assert.ThrowsAny<System.Net.Sockets.SocketException>(() => PortHolder.Sharing(port));
    }

    /// <summary>New connections until both bodies answered (the kernel spreads them across the sharing sockets), at most 200.</summary>
    internal static async Task<HashSet<string>> AnswersUntilBothAsync(int port, string first, string second)
    {
        var seen = new HashSet<string>();
        for (int i = 0; i < 200 && !(seen.Contains(first) && seen.Contains(second)); i++)
        {
            seen.Add(await PortHolder.GetBodyAsync(port));
        }
        return seen;
    }

    private static async Task<string> AdminBodyAsync(int port)
    {
        using var client = new RawClient(port);
        client.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
        string response = await client.ReadUntilCloseAsync(TimeSpan.FromSeconds(10));
        return response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    }
}
