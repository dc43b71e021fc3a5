using System.Text.Json;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Hosting;

/// <summary>
/// POST /upstreams/NAME/servers/ADDRESS/drain and /enable on a loopback admin listener, over real sockets with curl:
/// a drained server finishes what it has, gets nothing new, loses its idle connections, and comes back when enabled.
/// </summary>
public sealed class AdminDrainTests
{
    private const string Admin = """
        [admin]
        bind = "127.0.0.1:0"
        """;

    internal static async Task<(int Status, string Body)> CurlAsync(string url, params string[] extra)
    {
        var result = await Processes.CurlAsync([.. extra, "-s", "-g", "-w", "\n%{http_code}", url]);
        int split = result.StdOut.LastIndexOf('\n');
        return (int.Parse(result.StdOut[(split + 1)..]), result.StdOut[..split]);
    }

    /// <summary>Origin "a" holds GET /slow until released; both answer their own name otherwise ("b" answers /slow at once).</summary>
    private static ScriptedOrigin Origin(string name, Task? hold) => new(async (r, c) =>
    {
        if (hold is not null && r.RequestLine.StartsWith("GET /slow", StringComparison.Ordinal)) await hold.WaitAsync(TimeSpan.FromSeconds(20));
        await c.SendAsync($"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{name}");
    });

    private static JsonElement Server(string upstreamsJson, int index)
    {
        using var json = JsonDocument.Parse(upstreamsJson);
        return json.RootElement.GetProperty("upstreams")[0].GetProperty("servers")[index].Clone();
    }

    [Fact]
    public async Task Drain_lets_the_slow_request_finish_sends_new_ones_elsewhere_closes_idle_connections_and_enable_brings_it_back()
    {
        var release = new TaskCompletionSource();
        await using var a = Origin("a", release.Task);
        await using var b = Origin("b", null);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, b.Port], extraTop: Admin));
        string admin = $"http://{proxy.Host.AdminEndPoint}";
        string drainA = $"{admin}/upstreams/app/servers/127.0.0.1:{a.Port}/drain";

        // Warm up: both servers get requests and keep an idle connection each.
        using (var warm = new WireClient(proxy.Port()))
        {
            for (int i = 0; i < 4; i++) Assert.Equal(200, (await warm.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        }
        Assert.True(a.Requests.Count >= 1 && b.Requests.Count >= 1);

        // A slow request in flight at "a" (round robin: at most two tries land one there; "b" answers /slow at once).
        using var held = new WireClient(proxy.Port());
        Task<WireResponse>? slow = null;
        for (int i = 0; i < 2 && slow is null; i++)
        {
            int before = a.Requests.Count;
            var attempt = held.RoundTripAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(() => attempt.IsCompleted || a.Requests.Count > before, "the /slow request reached an origin");
            if (attempt.IsCompleted) Assert.Equal("b", (await attempt).BodyText);
            else slow = attempt;
        }
        Assert.NotNull(slow);

        var (status, body) = await CurlAsync(drainA, "-X", "POST");
        Assert.Equal(200, status);
        using (var answer = JsonDocument.Parse(body))
        {
            Assert.Equal("drained", answer.RootElement.GetProperty("state").GetString());
            Assert.Equal(1, answer.RootElement.GetProperty("in_flight").GetInt32());
        }
        var (_, upstreams) = await CurlAsync(admin + "/upstreams");
        var drained = Server(upstreams, 0);
        Assert.Equal("drained", drained.GetProperty("state").GetString());
        Assert.True(drained.GetProperty("drained").GetBoolean());
        Assert.False(drained.GetProperty("healthy").GetBoolean());
        Assert.Equal(0, drained.GetProperty("idle_connections").GetInt32());
        Assert.Equal("up", Server(upstreams, 1).GetProperty("state").GetString());

        // New requests, on new connections and on a kept-alive one, all go to "b".
        int aRequests = a.Requests.Count;
        using (var client = new WireClient(proxy.Port()))
        {
            for (int i = 0; i < 6; i++) Assert.Equal("b", (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).BodyText);
        }
        for (int i = 0; i < 3; i++) Assert.Equal((200, "b"), await CurlAsync(proxy.Url().ToString()));
        Assert.Equal(aRequests, a.Requests.Count);

        // The request in flight finishes, and its connection to "a" is closed instead of pooled.
        release.SetResult();
        var done = await slow!;
        Assert.Equal(200, done.Status);
        Assert.Equal("a", done.BodyText);
        await Wait.UntilAsync(() => a.ClosedByPeer == a.Connections, "every connection to the drained server closed by the proxy");
        (_, upstreams) = await CurlAsync(admin + "/upstreams");
        Assert.Equal(0, Server(upstreams, 0).GetProperty("idle_connections").GetInt32());
        Assert.Equal(0, Server(upstreams, 0).GetProperty("in_flight").GetInt32());

        // Enable: back in rotation.
        (status, body) = await CurlAsync($"{admin}/upstreams/app/servers/127.0.0.1:{a.Port}/enable", "-X", "POST");
        Assert.Equal(200, status);
        Assert.Contains("\"state\":\"up\"", body);
        var bodies = new List<string>();
        for (int i = 0; i < 4; i++) bodies.Add((await CurlAsync(proxy.Url().ToString())).Body);
        Assert.Contains("a", bodies);
        Assert.Contains("b", bodies);
        (_, upstreams) = await CurlAsync(admin + "/upstreams");
        Assert.Equal("up", Server(upstreams, 0).GetProperty("state").GetString());
        Assert.False(Server(upstreams, 0).GetProperty("drained").GetBoolean());
    }

    [Fact]
    public async Task Wrong_method_unknown_upstream_or_server_and_bad_paths()
    {
        await using var a = Origin("a", null);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port], extraTop: Admin));
        string admin = $"http://{proxy.Host.AdminEndPoint}";
        string url = $"{admin}/upstreams/app/servers/127.0.0.1:{a.Port}/drain";

        var get = await Processes.CurlAsync("-s", "-i", url);
        Assert.StartsWith("HTTP/1.1 405", get.StdOut);
        Assert.Contains("Allow: POST\r\n", get.StdOut);
        Assert.Equal(404, (await CurlAsync($"{admin}/upstreams/nope/servers/127.0.0.1:{a.Port}/drain", "-X", "POST")).Status);
        var unknown = await CurlAsync($"{admin}/upstreams/app/servers/127.0.0.1:1/drain", "-X", "POST");
        Assert.Equal(404, unknown.Status);
        Assert.Contains("has no server \"127.0.0.1:1\"", unknown.Body);
        Assert.Equal(404, (await CurlAsync($"{admin}/upstreams/app/servers/127.0.0.1:{a.Port}/pause", "-X", "POST")).Status);
        // Other paths still take GET and HEAD only; nothing was drained by any of this.
        Assert.Equal(405, (await CurlAsync(admin + "/upstreams", "-X", "POST")).Status);
        Assert.Equal((200, "a"), await CurlAsync(proxy.Url().ToString()));
        // The address may be percent-encoded.
        Assert.Equal(200, (await CurlAsync($"{admin}/upstreams/app/servers/127.0.0.1%3A{a.Port}/drain", "-X", "POST")).Status);
        Assert.Equal(503, (await CurlAsync(proxy.Url().ToString())).Status);
    }

    [Fact]
    public async Task An_ipv6_server_is_named_by_its_address_raw_or_percent_encoded()
    {
        await using var a = Origin("a", null);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port], extraTop: Admin) + $"\n[upstreams.six]\nservers = [\"[::1]:{a.Port}\"]\n");
        string admin = $"http://{proxy.Host.AdminEndPoint}";
        var (status, body) = await CurlAsync($"{admin}/upstreams/six/servers/%5B%3A%3A1%5D%3A{a.Port}/drain", "-X", "POST");
        Assert.Equal(200, status);
        Assert.Contains($"\"server\":\"[::1]:{a.Port}\"", body);
        // curl -g sends the brackets as they are.
        Assert.Equal(200, (await CurlAsync($"{admin}/upstreams/six/servers/[::1]:{a.Port}/enable", "-X", "POST")).Status);
    }

    [Fact]
    public async Task Drained_survives_a_reload_that_keeps_the_server_and_is_forgotten_when_the_server_leaves()
    {
        await using var a = Origin("a", null);
        await using var b = Origin("b", null);
        string config = TestProxy.SimpleConfig([a.Port, b.Port], extraTop: Admin);
        await using var proxy = TestProxy.Start(config);
        string admin() => $"http://{proxy.Host.AdminEndPoint}";
        Assert.Equal(200, (await CurlAsync($"{admin()}/upstreams/app/servers/127.0.0.1:{a.Port}/drain", "-X", "POST")).Status);

        // Same servers, another setting: still drained.
        proxy.Reload(TestProxy.SimpleConfig([a.Port, b.Port], extraTop: Admin, extraUpstream: "connect_timeout = \"3s\""));
        var (_, upstreams) = await CurlAsync(admin() + "/upstreams");
        Assert.Equal("drained", Server(upstreams, 0).GetProperty("state").GetString());
        for (int i = 0; i < 4; i++) Assert.Equal((200, "b"), await CurlAsync(proxy.Url().ToString()));
        Assert.Empty(a.Requests);

        // The server leaves the file, then comes back: a new server, not drained.
        proxy.Reload(TestProxy.SimpleConfig([b.Port], extraTop: Admin));
        proxy.Reload(config);
        (_, upstreams) = await CurlAsync(admin() + "/upstreams");
        Assert.Equal("up", Server(upstreams, 0).GetProperty("state").GetString());
        var bodies = new List<string>();
        for (int i = 0; i < 4; i++) bodies.Add((await CurlAsync(proxy.Url().ToString())).Body);
        Assert.Contains("a", bodies);
    }

    [Fact]
    public async Task Drains_racing_reloads_are_never_lost()
    {
        await using var a = Origin("a", null);
        await using var b = Origin("b", null);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, b.Port], extraTop: Admin));
        string url = $"http://{proxy.Host.AdminEndPoint}/upstreams/app/servers/127.0.0.1:{a.Port}/drain";
        using var stop = new CancellationTokenSource();
        var reloads = Task.Run(() =>
        {
            for (int i = 0; i < 200 && !stop.IsCancellationRequested; i++)
                proxy.Reload(TestProxy.SimpleConfig([a.Port, b.Port], extraTop: Admin, extraUpstream: $"connect_timeout = \"{2 + i % 2}s\""));
        });
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(200, (await CurlAsync(url.Replace("/drain", "/enable"), "-X", "POST")).Status);
            Assert.Equal(200, (await CurlAsync(url, "-X", "POST")).Status);
            // Whatever generation serves now, the drain made it.
            Assert.True(proxy.Host.Runtime.Upstreams["app"].Servers[0].Health.Drained);
        }
        stop.Cancel();
        await reloads;
        Assert.True(proxy.Host.Runtime.Upstreams["app"].Servers[0].Health.Drained);
        Assert.False(proxy.Host.Runtime.Upstreams["app"].Servers[0].State.IsAvailable);
    }
}
