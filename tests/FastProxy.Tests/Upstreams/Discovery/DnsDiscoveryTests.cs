using System.Net;
using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams.Discovery;

/// <summary>
/// DNS discovery through a running proxy: a server written as a host name is resolved again every resolve_interval
/// through [dns]'s servers (here a test DNS server on loopback whose answers change mid-run), each address a server,
/// with no request failing while the addresses change.
/// </summary>
public sealed class DnsDiscoveryTests
{
    private const string Name = "app.discovery.test";

    /// <summary>Origins on 127.0.0.2, 127.0.0.3 ... sharing one port (DNS gives addresses, the port is in the config).</summary>
    private static List<RawUpstream> SamePortOrigins(params string[] addresses)
    {
        for (int attempt = 0; ; attempt++)
        {
            var origins = new List<RawUpstream>();
            try
            {
                foreach (var address in addresses)
                {
                    int port = origins.Count == 0 ? 0 : origins[0].Port;
                    origins.Add(new RawUpstream(_ => RawUpstream.Ok(address), port: port, address: IPAddress.Parse(address)));
                }
                return origins;
            }
            catch (SocketException) when (attempt < 10)
            {
                foreach (var origin in origins) origin.DisposeAsync().AsTask().Wait();
            }
        }
    }

    private static string Config(int dnsPort, int port, string extra = "") => $$"""
        [dns]
        servers = ["127.0.0.1:{{dnsPort}}"]
        timeout = "1s"

        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        servers = [{ address = "{{Name}}:{{port}}" }]
        resolve_interval = "1s"
        {{extra}}
        """;

    private static string[] Serving(TestProxy proxy)
        => [.. proxy.Host.Runtime.Upstreams["app"].Servers.Select(s => s.Address).Order()];

    [Fact]
    public async Task Answers_that_change_under_load_move_traffic_with_no_failed_request()
    {
        var origins = SamePortOrigins("127.0.0.2", "127.0.0.3", "127.0.0.4");
        var (a, b, c) = (origins[0], origins[1], origins[2]);
        int port = a.Port;
        await using var dns = new TestDnsServer(Name, "127.0.0.2", "127.0.0.3");
        try
        {
            await using var proxy = TestProxy.Start(Config(dns.Port, port));
            Assert.Equal([$"127.0.0.2:{port}", $"127.0.0.3:{port}"], Serving(proxy));

            await using var load = new DiscoveryLoad(proxy.Port());
            await load.RunForAsync(100);
            Assert.True(a.Requests.Count > 0 && b.Requests.Count > 0, "both first addresses serve");
            var bServer = proxy.Host.Runtime.Upstreams["app"].Servers.Single(s => s.Address == $"127.0.0.3:{port}");

            dns.Set("127.0.0.3", "127.0.0.4");
            await Wait.UntilAsync(() => Serving(proxy).SequenceEqual([$"127.0.0.3:{port}", $"127.0.0.4:{port}"]), "the new answer applied", TimeSpan.FromSeconds(15));
            // Requests that picked 127.0.0.2 just before the change finish there; none may start there after.
            await load.RunForAsync(20);
            int removedCount = a.Requests.Count;
            await load.RunForAsync(200);
            var failures = await load.StopAsync();

            Assert.Empty(failures);
            Assert.Equal(removedCount, a.Requests.Count);
            Assert.True(c.Requests.Count > 0, "the new address takes traffic");
            // The server that stayed is the same object: its pool, health and counters carried on.
            Assert.Same(bServer, proxy.Host.Runtime.Upstreams["app"].Servers.Single(s => s.Address == $"127.0.0.3:{port}"));
            // The removed address's pooled connections close (idle ones at once, busy ones as their request ends).
            await Wait.UntilAsync(() => a.OpenConnections == 0, "connections to the removed address closed", TimeSpan.FromSeconds(10));
            Assert.True(b.OpenConnections > 0, "connections to the address that stayed are kept");
        }
        finally
        {
            foreach (var origin in origins) await origin.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_failing_resolver_keeps_the_last_good_addresses()
    {
        var origins = SamePortOrigins("127.0.0.2", "127.0.0.3");
        int port = origins[0].Port;
        await using var dns = new TestDnsServer(Name, "127.0.0.2", "127.0.0.3");
        try
        {
            await using var proxy = TestProxy.Start(Config(dns.Port, port));
            var upstream = proxy.Host.Runtime.Upstreams["app"];
            dns.Fail = true;
            int asked = dns.Queries;
            // Two rounds of failed resolution (each round asks A and AAAA).
            await Wait.UntilAsync(() => dns.Queries >= asked + 4, "the proxy asks again and gets SERVFAIL", TimeSpan.FromSeconds(15));
            await Wait.UntilAsync(() => upstream.Discovery.Name(Name)?.Failing == true, "the failure recorded", TimeSpan.FromSeconds(10));
            Assert.Equal([$"127.0.0.2:{port}", $"127.0.0.3:{port}"], Serving(proxy));

            await using (var load = new DiscoveryLoad(proxy.Port(), clients: 2, maxPerClient: 40))
            {
                await load.RunForAsync(80);
                Assert.Empty(await load.StopAsync());
            }

            dns.Fail = false;
            dns.Set("127.0.0.3");
            await Wait.UntilAsync(() => Serving(proxy).SequenceEqual([$"127.0.0.3:{port}"]), "recovery applies the new answer", TimeSpan.FromSeconds(15));
            Assert.False(upstream.Discovery.Name(Name)!.Failing);
        }
        finally
        {
            foreach (var origin in origins) await origin.DisposeAsync();
        }
    }

    [Fact]
    public async Task Resolve_interval_zero_resolves_only_at_load()
    {
        var origins = SamePortOrigins("127.0.0.2", "127.0.0.3");
        int port = origins[0].Port;
        await using var dns = new TestDnsServer(Name, "127.0.0.2");
        try
        {
            await using var proxy = TestProxy.Start(Config(dns.Port, port).Replace("resolve_interval = \"1s\"", "resolve_interval = \"0s\""));
            int asked = dns.Queries;
            dns.Set("127.0.0.3");
            await Task.Delay(2500);
            Assert.Equal(asked, dns.Queries);
            Assert.Equal([$"127.0.0.2:{port}"], Serving(proxy));
        }
        finally
        {
            foreach (var origin in origins) await origin.DisposeAsync();
        }
    }
}
