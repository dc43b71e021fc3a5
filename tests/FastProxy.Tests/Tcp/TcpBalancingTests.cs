using System.Net;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tcp;

/// <summary>Connections of a tcp listener are spread over the upstream's servers by the same balancers as requests.</summary>
public sealed class TcpBalancingTests
{
    [Fact]
    public async Task Round_robin_takes_the_servers_in_turn()
    {
        await using var a = TcpBackend.Named("a");
        await using var b = TcpBackend.Named("b");
        await using var c = TcpBackend.Named("c");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([a.Port, b.Port, c.Port]));
        var seen = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            using var client = await TcpTestClient.ConnectAsync(proxy.Port("tcp"));
            seen.Add(await client.ReadLineAsync());
        }
        Assert.Equal(["a", "b", "c", "a", "b", "c"], seen);
    }

    [Fact]
    public async Task Least_conn_sends_new_connections_to_the_server_with_fewest_open()
    {
        await using var a = TcpBackend.Named("a");
        await using var b = TcpBackend.Named("b");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([a.Port, b.Port], balance: "least_conn"));
        int port = proxy.Port("tcp");

        // Four long-lived connections, two on each server (equal counts take turns).
        var open = new List<(TcpTestClient Client, string Server)>();
        for (int i = 0; i < 4; i++)
        {
            var client = await TcpTestClient.ConnectAsync(port);
            open.Add((client, await client.ReadLineAsync()));
        }
        Assert.Equal(2, open.Count(o => o.Server == "a"));

        // Both of a's close; the proxy closes its side of them too.
        foreach (var (client, _) in open.Where(o => o.Server == "a")) client.Dispose();
        var servers = proxy.Host.Runtime.Upstreams["app"].Servers;
        await WaitUntil(() => servers[0].State.OpenConnections == 0);
        Assert.Equal(2, servers[1].State.OpenConnections);

        // Round robin would alternate; least_conn fills a up to b's count first.
        var next = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            var client = await TcpTestClient.ConnectAsync(port);
            next.Add(await client.ReadLineAsync());
            open.Add((client, next[^1]));
        }
        Assert.Equal(["a", "a"], next);
        foreach (var (client, _) in open) client.Dispose();
    }

    [Fact]
    public async Task Ip_hash_keeps_each_client_address_on_one_server_and_spreads_addresses()
    {
        await using var a = TcpBackend.Named("a");
        await using var b = TcpBackend.Named("b");
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([a.Port, b.Port], balance: "ip_hash"));
        int port = proxy.Port("tcp");

        // Linux routes all of 127.0.0.0/8 to loopback: each 127.0.0.x is a different client address.
        var byAddress = new Dictionary<string, string>();
        for (int host = 2; host < 22; host++)
        {
            var address = IPAddress.Parse($"127.0.0.{host}");
            for (int repeat = 0; repeat < 3; repeat++)
            {
                using var client = await TcpTestClient.ConnectAsync(port, address);
                string server = await client.ReadLineAsync();
                if (byAddress.TryGetValue(address.ToString(), out var earlier)) Assert.Equal(earlier, server);
                else byAddress[address.ToString()] = server;
            }
        }
        Assert.Contains("a", byAddress.Values);
        Assert.Contains("b", byAddress.Values);
    }

    [Fact]
    public async Task Open_connection_counts_return_to_zero_when_connections_end()
    {
        await using var a = TcpBackend.Echo();
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([a.Port], balance: "least_conn"));
        var clients = new List<TcpTestClient>();
        for (int i = 0; i < 5; i++) clients.Add(await TcpTestClient.ConnectAsync(proxy.Port("tcp")));
        var state = proxy.Host.Runtime.Upstreams["app"].Servers[0].State;
        await WaitUntil(() => state.OpenConnections == 5);
        foreach (var client in clients) client.Dispose();
        await WaitUntil(() => state.OpenConnections == 0);
        await WaitUntil(() => proxy.Host.Services.ActiveConnections == 0);
    }

    internal static async Task WaitUntil(Func<bool> condition, int timeoutMs = 5000)
    {
        for (int waited = 0; !condition(); waited += 10)
        {
            if (waited > timeoutMs) Assert.Fail("condition not met in time");
            await Task.Delay(10);
        }
    }
}
