using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>
/// consistent_hash, p2c and sticky cookies as clients see them through a running proxy, over real loopback servers
/// that answer with their own name; curl (HTTP/1.1 and h2c prior knowledge) where a user would use it.
/// </summary>
public sealed class NewBalancersThroughProxyTests
{
    private static string Config(string upstreamKeys, params int[] ports) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        {{upstreamKeys}}
        servers = [ {{string.Join(", ", ports.Select(p => $"{{ address = \"127.0.0.1:{p}\" }}"))}} ]
        """;

    private static RawUpstream Named(string name, int delayMs = 0) => new(_ =>
    {
        if (delayMs > 0) Thread.Sleep(delayMs);
        return RawUpstream.Ok(name);
    });

    private static async Task<string> GetAsync(WireClient client, string path, string headers = "")
        => (await client.RoundTripAsync($"GET {path} HTTP/1.1\r\nHost: a\r\n{headers}\r\n")).BodyText;

    [Theory]
    [InlineData("hash_key = \"header:x-user\"", "X-User: {0}\r\n", "/")]
    [InlineData("hash_key = \"cookie:uid\"", "Cookie: a=1; uid={0}\r\n", "/")]
    [InlineData("hash_key = \"path\"", "", "/items/{0}")]
    public async Task Consistent_hash_sends_the_same_key_to_the_same_server(string hashKey, string header, string path)
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var c = Named("c");
        await using var proxy = TestProxy.Start(Config($"balance = \"consistent_hash\"\n{hashKey}", a.Port, b.Port, c.Port));
        using var client = new WireClient(proxy.Port());

        var first = new Dictionary<int, string>();
        for (int key = 0; key < 30; key++)
        {
            first[key] = await GetAsync(client, string.Format(path, key), string.Format(header, key));
        }
        // 30 keys over 3 servers: more than one server takes some (a spread, not one pile).
        Assert.True(first.Values.Distinct().Count() >= 2, string.Join(" ", first.Values));
        for (int round = 0; round < 2; round++)
        {
            for (int key = 0; key < 30; key++)
            {
                using var fresh = new WireClient(proxy.Port());
                Assert.Equal(first[key], await GetAsync(fresh, string.Format(path, key), string.Format(header, key)));
            }
        }
    }

    [Fact]
    public async Task Consistent_hash_moves_the_keys_of_a_server_that_is_down_and_only_those()
    {
        await using var a = Named("a");
        await using var b = Named("b");
        int closed = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(Config("balance = \"consistent_hash\"\nhash_key = \"header:x-user\"", a.Port, b.Port, closed));
        using var client = new WireClient(proxy.Port());

        // Keys of the closed server fail over (connect refused, next point on the ring); the others stay put.
        var seen = new Dictionary<int, string>();
        for (int key = 0; key < 30; key++) seen[key] = await GetAsync(client, "/", $"X-User: {key}\r\n");
        Assert.All(seen.Values, v => Assert.Contains(v, new[] { "a", "b" }));
        for (int key = 0; key < 30; key++) Assert.Equal(seen[key], await GetAsync(client, "/", $"X-User: {key}\r\n"));
    }

    [Fact]
    public async Task P2c_sends_clearly_less_traffic_to_a_slow_server()
    {
        await using var a = Named("a");
        await using var slow = Named("slow", delayMs: 50);
        await using var c = Named("c");
        await using var proxy = TestProxy.Start(Config("balance = \"p2c\"", a.Port, slow.Port, c.Port));

        // 4 clients x 150 requests. The slow server answers in 50 ms against well under that for the others, so after
        // its first answer it loses every draw it is in until its average decays (10 s window) below theirs.
        var counts = new Dictionary<string, int>();
        var tasks = Enumerable.Range(0, 4).Select(async _ =>
        {
            using var client = new WireClient(proxy.Port());
            var mine = new List<string>();
            for (int i = 0; i < 150; i++) mine.Add(await GetAsync(client, "/"));
            return mine;
        });
        foreach (var list in await Task.WhenAll(tasks))
        {
            foreach (var name in list) counts[name] = counts.GetValueOrDefault(name) + 1;
        }

        Assert.Equal(600, counts.Values.Sum());
        int slowCount = counts.GetValueOrDefault("slow");
        Assert.True(slowCount < 600 * 15 / 100, $"slow server took {slowCount} of 600: {string.Join(", ", counts)}");
        Assert.True(counts.GetValueOrDefault("a") > 150 && counts.GetValueOrDefault("c") > 150, string.Join(", ", counts));
    }

    [Fact]
    public async Task Round_robin_picks_are_unchanged_by_p2c_bookkeeping_being_off()
    {
        // The plain path (no hash key, no sticky, no p2c) still rotates exactly.
        await using var a = Named("a");
        await using var b = Named("b");
        await using var proxy = TestProxy.Start(Config("balance = \"round_robin\"", a.Port, b.Port));
        using var client = new WireClient(proxy.Port());
        var seen = new List<string>();
        for (int i = 0; i < 6; i++) seen.Add(await GetAsync(client, "/"));
        for (int i = 1; i < seen.Count; i++) Assert.NotEqual(seen[i - 1], seen[i]);
    }
}
