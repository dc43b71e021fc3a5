using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace FastProxy.Tests.Upstreams.Http2;

/// <summary>Upstreams with protocol = "h2": HTTP/2 over TLS, chosen by ALPN, against Kestrel with a certificate made in the test.</summary>
public sealed class Http2TlsUpstreamTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private X509Certificate2 Certificate()
    {
        var (cert, key) = _files.Server("upstream", ["localhost"]);
        return X509Certificate2.CreateFromPemFile(cert, key);
    }

    private string Config(int port) => TestProxy.SimpleConfig([port], extraUpstream: $"""
        protocol = "h2"
        tls = true
        ca = "{_files.PathOf("ca.pem")}"
        sni = "localhost"
        connect_timeout = "10s"
        """);

    [Fact]
    public async Task Requests_go_over_tls_as_http2_selected_by_alpn_and_share_the_connection()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/{n}", ctx =>
            ctx.Response.WriteAsync($"{ctx.Request.Protocol} {ctx.Request.Scheme} n={ctx.Request.RouteValues["n"]}")), certificate: Certificate());
        await using var proxy = TestProxy.Start(Config(origin.Port));

        for (int i = 0; i < 3; i++)
        {
            var r = await Processes.CurlAsync(proxy.Url($"/{i}").ToString());
            Assert.Equal($"HTTP/2 https n={i}", r.StdOut);
        }
        Assert.Equal(1, origin.Connections);
    }

    [Fact]
    public async Task A_tls_server_that_does_not_select_h2_is_a_fast_502()
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapGet("/", ctx => ctx.Response.WriteAsync("http/1.1 only")),
            certificate: Certificate(), protocols: HttpProtocols.Http1);
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var clock = Stopwatch.StartNew();
        var r = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", proxy.Url("/").ToString());

        Assert.Equal("502", r.StdOut);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }
}
