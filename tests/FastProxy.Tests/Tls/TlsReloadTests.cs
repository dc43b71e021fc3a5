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
