using System.Net;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Observability;

/// <summary>
/// The real binary (native AOT, `dotnet publish` to artifacts/ first): /metrics after traffic, and SIGHUP reloads
/// counted by outcome, a file that does not load being refused like a port that cannot be bound.
/// </summary>
public sealed class MetricsBinaryTests
{
    private static (string, string) L(string name, string value) => (name, value);

    private static string Config(int port, int admin, int origin, string extra = "") => $$"""
        [admin]
        bind = "127.0.0.1:{{admin}}"

        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{origin}}" } ]
        {{extra}}
        """;

    [Fact]
    public async Task The_native_binary_serves_metrics_and_counts_sighup_reloads_by_outcome()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        int port = ProxyProcess.FreePort(), admin = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, admin, origin.Port), out var path);
        await proxy.WaitForPortAsync(port);
        await proxy.WaitForPortAsync(admin);
        var adminEndPoint = new IPEndPoint(IPAddress.Loopback, admin);
        using (var client = new WireClient(port))
        {
            for (int i = 0; i < 3; i++) Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        }

        // A file with an error: refused, the old configuration serves on.
        File.WriteAllText(path, Config(port, admin, origin.Port, "bogus_key = 1"));
        await proxy.SignalAsync("HUP");
        var m = await MetricsScrape.UntilAsync(adminEndPoint, s => s.Value("fastproxy_config_reloads_total", L("outcome", "refused")) == 1, "the refused reload");
        await MetricsScrape.CheckAsync(m.Text);
        Assert.Equal(0, m.Value("fastproxy_config_reloads_total", L("outcome", "ok")));
        Assert.Equal(3, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "2xx")));

        // Fixed: accepted; the route keeps its count.
        File.WriteAllText(path, Config(port, admin, origin.Port));
        await proxy.SignalAsync("HUP");
        m = await MetricsScrape.UntilAsync(adminEndPoint, s => s.Value("fastproxy_config_reloads_total", L("outcome", "ok")) == 1, "the accepted reload");
        using (var client = new WireClient(port))
        {
            Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        }
        m = await MetricsScrape.FetchAsync(adminEndPoint);
        Assert.Equal(1, m.Value("fastproxy_config_reloads_total", L("outcome", "refused")));
        Assert.Equal(4, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "2xx")));
        Assert.Equal(1, m.Value("fastproxy_build_info", L("version", "0.1.0")));
    }
}
