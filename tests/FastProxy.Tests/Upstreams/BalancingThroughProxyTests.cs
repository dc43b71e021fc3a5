using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>Each balance algorithm as a client sees it through a running proxy, over real upstream servers.</summary>
public sealed class BalancingThroughProxyTests
{
    private static string Servers(IEnumerable<(int Port, int Weight)> servers)
        => string.Join(", ", servers.Select(s => $"{{ address = \"127.0.0.1:{s.Port}\", weight = {s.Weight} }}"));

    private static string Config(string balance, string servers) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        balance = "{{balance}}"
        servers = [ {{servers}} ]
        """;

    /// <summary>An upstream that answers with its own name.</summary>
    private static RawUpstream Named(string name) => new(_ => RawUpstream.Ok(name));

    private static async Task<string> SequenceAsync(TestProxy proxy, int count, bool newConnectionEach = false)
    {
        var seen = new List<string>();
        using var shared = new WireClient(proxy.Port());
        for (int i = 0; i < count; i++)
        {
            if (newConnectionEach)
            {
                using var client = new WireClient(proxy.Port());
                seen.Add((await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
            }
            else
            {
                seen.Add((await shared.RoundTripAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n")).BodyText);
            }
        }
        return string.Join(" ", seen);
    }

    [Fact]
    public async Task Round_robin_alternates_exactly()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var c = Named("c");
        await using var proxy = TestProxy.Start(Config("round_robin", Servers([(a.Port, 1), (b.Port, 1), (c.Port, 1)])));

        var sequence = (await SequenceAsync(proxy, 12)).Split(' ');

        // Whichever server comes first, the order then repeats with period 3 and visits each server once per turn.
        Assert.Equal(3, sequence.Take(3).Distinct().Count());
        for (int i = 3; i < sequence.Length; i++) Assert.Equal(sequence[i - 3], sequence[i]);
    }

    [Fact]
    public async Task Round_robin_alternates_across_client_connections()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var proxy = TestProxy.Start(Config("round_robin", Servers([(a.Port, 1), (b.Port, 1)])));

        var sequence = (await SequenceAsync(proxy, 10, newConnectionEach: true)).Split(' ');

        for (int i = 1; i < sequence.Length; i++) Assert.NotEqual(sequence[i - 1], sequence[i]);
        Assert.Equal(5, a.Requests.Count);
        Assert.Equal(5, b.Requests.Count);
    }

    [Fact]
    public async Task Weighted_5_1_1_is_smooth()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var c = Named("c");
        await using var proxy = TestProxy.Start(Config("weighted", Servers([(a.Port, 5), (b.Port, 1), (c.Port, 1)])));

        var sequence = await SequenceAsync(proxy, 14);

        Assert.Equal("a a b a c a a a a b a c a a", sequence);
    }

    [Fact]
    public async Task Ip_hash_sends_one_client_to_one_server()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var c = Named("c");
        await using var proxy = TestProxy.Start(Config("ip_hash", Servers([(a.Port, 1), (b.Port, 1), (c.Port, 1)])));

        var separate = (await SequenceAsync(proxy, 12, newConnectionEach: true)).Split(' ');
        var shared = (await SequenceAsync(proxy, 12)).Split(' ');

        Assert.Single(separate.Concat(shared).Distinct());
    }

    [Fact]
    public async Task Ip_hash_moves_only_the_clients_of_a_server_that_is_down()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        int closedPort = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(Config("ip_hash", Servers([(a.Port, 1), (b.Port, 1), (closedPort, 1)])));

        // Whichever server 127.0.0.1 hashes to, requests succeed, and they stick to one live server.
        var sequence = (await SequenceAsync(proxy, 6, newConnectionEach: true)).Split(' ');

        Assert.Single(sequence.Distinct());
        Assert.Contains(sequence[0], new[] { "a", "b" });
    }

    [Fact]
    public async Task Least_conn_prefers_the_server_with_fewer_requests_in_flight()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<string, Func<UpstreamRequest, OriginConnection, Task>> script = name => async (r, c) =>
        {
            if (r.RequestLine.Contains("/slow")) await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: {name.Length}\r\n\r\n{name}");
        };
        await using var a = new ScriptedOrigin(script("a"));
        await using var b = new ScriptedOrigin(script("b"));
        await using var proxy = TestProxy.Start(Config("least_conn", Servers([(a.Port, 1), (b.Port, 1)])));

        try
        {
            // A slow request holds one server busy.
            using var slowClient = new WireClient(proxy.Port());
            slowClient.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (a.Active + b.Active == 0 && DateTime.UtcNow < deadline) await Task.Delay(5);
            string busy = a.Active == 1 ? "a" : "b";
            string idle = busy == "a" ? "b" : "a";

            // Every request meanwhile goes to the other one.
            var sequence = (await SequenceAsync(proxy, 6)).Split(' ');
            Assert.All(sequence, s => Assert.Equal(idle, s));

            release.SetResult();
            Assert.Equal(busy, (await slowClient.ReadFinalResponseAsync()).BodyText);
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task Least_conn_spreads_concurrent_slow_requests()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Func<UpstreamRequest, OriginConnection, Task> script = async (r, c) =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        };
        await using var a = new ScriptedOrigin(script);
        await using var b = new ScriptedOrigin(script);
        await using var c = new ScriptedOrigin(script);
        await using var proxy = TestProxy.Start(Config("least_conn", Servers([(a.Port, 1), (b.Port, 1), (c.Port, 1)])));

        var clients = new List<WireClient>();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                var client = new WireClient(proxy.Port());
                clients.Add(client);
                client.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                // One at a time, so each pick sees the previous ones in flight.
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (a.Active + b.Active + c.Active < i + 1 && DateTime.UtcNow < deadline) await Task.Delay(5);
            }

            Assert.Equal((2, 2, 2), (a.Active, b.Active, c.Active));
            release.SetResult();
            foreach (var client in clients) Assert.Equal(200, (await client.ReadFinalResponseAsync()).Status);
        }
        finally
        {
            release.TrySetResult();
            foreach (var client in clients) client.Dispose();
        }
    }
}
