using FastProxy.Hosting;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tcp;

namespace FastProxy.Tests.Tls;

/// <summary>Certificates belong to a configuration generation: a reload loads them again; what cannot be served is refused.</summary>
public sealed class TlsReloadTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task A_reload_serves_the_new_certificate_to_new_connections()
    {
        var ca = _files.Ca("ca");
        var first = _files.Server("first", ["site.example.com"], commonName: "first");
        var second = _files.Server("second", ["site.example.com"], commonName: "second");
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port, TlsTerminationTests.Entry(first.Cert, first.Key)));
        int port = proxy.Port();

        Assert.Contains("subject: CN=first", (await TlsTerminationTests.Curl(port, "site.example.com", ca)).StdErr);
        proxy.Reload(TlsTerminationTests.Config(upstream.Port, TlsTerminationTests.Entry(second.Cert, second.Key)));
        var after = await TlsTerminationTests.Curl(port, "site.example.com", ca);
        Assert.Equal("ok", after.StdOut);
        Assert.Contains("subject: CN=second", after.StdErr);
    }

    [Fact]
    public void Tls_to_the_servers_of_a_tcp_listener_is_refused_at_start()
    {
        var error = Assert.Throws<ProxyStartException>(() => TestProxy.Start(TcpConfigs.Forward([9], upstreamExtra: "tls = true")));
        var problem = Assert.Single(error.Problems);
        Assert.EndsWith("upstreams.app.tls: TLS to the servers of a tcp listener (\"tcp\") is not implemented yet; only http listeners' upstreams can use tls = true", problem);
    }
}

/// <summary>global.max_connections on a TLS listener.</summary>
public sealed class TlsConnectionLimitTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task A_connection_over_the_cap_is_closed_without_a_plaintext_answer()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var proxy = TestProxy.Start($$"""
            [global]
            max_connections = 1

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"

            [[routes]]
            respond = { status = 200, body = "hello" }
            """);
        using var held = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await held.ConnectAsync(proxy.EndPoint());
        // The held connection is accepted (counted) before the next one arrives.
        await Task.Delay(200);

        using var over = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        await over.ConnectAsync(proxy.EndPoint());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[256];
        int n;
        try { n = await over.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, cts.Token); }
        catch (System.Net.Sockets.SocketException) { n = 0; }
        Assert.Equal(0, n);

        held.Dispose();
        // The place is free again once the held connection has closed (its handshake fails at once on the FIN).
        ProcessResult ok = new(1, "", "");
        for (int i = 0; i < 50 && ok.StdOut != "hello"; i++)
        {
            await Task.Delay(100);
            ok = await TlsTerminationTests.Curl(proxy.Port(), "site.example.com", ca);
        }
        Assert.Equal("hello", ok.StdOut);
    }
}
