using System.Net.Sockets;
using System.Text.Json;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Hosting;

/// <summary>The [admin] listener: /healthz, /readyz (503 while draining), /upstreams as JSON, queried with curl.</summary>
public sealed class AdminTests
{
    private const string Admin = """
        [admin]
        bind = "127.0.0.1:0"
        """;

    private static async Task<(int Status, string Body)> CurlAsync(string url, params string[] extra)
    {
        var result = await Processes.CurlAsync([.. extra, "-s", "-w", "\n%{http_code}", url]);
        int split = result.StdOut.LastIndexOf('\n');
        return (int.Parse(result.StdOut[(split + 1)..]), result.StdOut[..split]);
    }

    [Fact]
    public async Task Healthz_readyz_and_unknown_paths()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));
        string root = $"http://{proxy.Host.AdminEndPoint}";

        Assert.Equal((200, "ok\n"), await CurlAsync(root + "/healthz"));
        Assert.Equal((200, "ready\n"), await CurlAsync(root + "/readyz"));
        Assert.Equal(404, (await CurlAsync(root + "/nope")).Status);
        Assert.Equal(405, (await CurlAsync(root + "/healthz", "-X", "POST")).Status);
        // The admin listener is not a traffic listener: nothing reached the upstream.
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task Upstreams_reports_each_servers_health_ejections_in_flight_and_totals()
    {
        var release = new TaskCompletionSource();
        await using var slow = new ScriptedOrigin(async (r, c) =>
        {
            if (r.RequestLine.StartsWith("GET /slow", StringComparison.Ordinal)) await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ns");
        });
        await using var failing = new RawUpstream(_ => RawUpstream.Status(500));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([slow.Port, failing.Port], extraTop: Admin, extraUpstream: """
            [upstreams.app.passive]
            consecutive_failures = 2
            eject = "30s"
            max_ejected_percent = 50
            """));
        using (var client = new WireClient(proxy.Port()))
        {
            for (int i = 0; i < 4; i++) await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        }
        using var held = new WireClient(proxy.Port());
        var pending = held.RoundTripAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        await slow.WaitForRequestsAsync(3);

        var (status, body) = await CurlAsync($"http://{proxy.Host.AdminEndPoint}/upstreams");
        release.SetResult();
        await pending;

        Assert.Equal(200, status);
        using var json = JsonDocument.Parse(body);
        var upstream = json.RootElement.GetProperty("upstreams")[0];
        Assert.Equal("app", upstream.GetProperty("name").GetString());
        Assert.Equal("round_robin", upstream.GetProperty("balance").GetString());
        Assert.Equal(1, upstream.GetProperty("in_flight").GetInt32());
        Assert.Equal(1, upstream.GetProperty("ejected").GetInt32());
        var servers = upstream.GetProperty("servers");
        Assert.Equal($"127.0.0.1:{slow.Port}", servers[0].GetProperty("address").GetString());
        Assert.Equal("up", servers[0].GetProperty("state").GetString());
        Assert.Equal(1, servers[0].GetProperty("in_flight").GetInt32());
        Assert.Equal(3, servers[0].GetProperty("requests").GetInt64());
        Assert.Equal(0, servers[0].GetProperty("failures").GetInt64());
        // One request at a time ever reached it: the adaptive pool keeps one idle connection.
        Assert.Equal(1, servers[0].GetProperty("idle_limit").GetInt32());
        Assert.Equal("ejected", servers[1].GetProperty("state").GetString());
        Assert.False(servers[1].GetProperty("healthy").GetBoolean());
        Assert.Equal(1, servers[1].GetProperty("ejections").GetInt32());
        Assert.InRange(servers[1].GetProperty("ejected_for_ms").GetInt64(), 20_000, 30_000);
        Assert.Equal(2, servers[1].GetProperty("requests").GetInt64());
        Assert.Equal(2, servers[1].GetProperty("failures").GetInt64());
    }

    [Fact]
    public async Task Readyz_is_503_while_draining_and_healthz_stays_200()
    {
        var release = new TaskCompletionSource();
        await using var slow = new ScriptedOrigin(async (r, c) =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([slow.Port], extraTop: Admin));
        string root = $"http://{proxy.Host.AdminEndPoint}";
        using var client = new WireClient(proxy.Port());
        var pending = client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        await slow.WaitForRequestsAsync(1);

        var stopping = proxy.StopAsync(TimeSpan.FromSeconds(10));
        await Wait.UntilAsync(() => proxy.Host.Services.Draining, "draining");
        Assert.Equal((503, "draining\n"), await CurlAsync(root + "/readyz"));
        Assert.Equal((200, "ok\n"), await CurlAsync(root + "/healthz"));

        release.SetResult();
        var response = await pending;
        Assert.Equal(200, response.Status);
        Assert.Equal("close", response.Header("Connection"));
        Assert.Equal(0, await stopping);
        // Stopped: the admin listener is gone too.
        Assert.NotEqual(0, (await Processes.CurlAsync("-s", "-o", "/dev/null", root + "/healthz")).ExitCode);
    }

    [Fact]
    public async Task A_reload_moves_the_admin_listener_and_a_bind_failure_refuses_the_reload()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));
        var first = proxy.Host.AdminEndPoint!;
        int next = ProxyProcess.FreePort();

        proxy.Reload(TestProxy.SimpleConfig([origin.Port], extraTop: $"[admin]\nbind = \"127.0.0.1:{next}\""));
        Assert.Equal(next, proxy.Host.AdminEndPoint!.Port);
        Assert.Equal((200, "ok\n"), await CurlAsync($"http://127.0.0.1:{next}/healthz"));
        await Wait.UntilAsync(() => !CanConnect(first.Port), "old admin port closed");

        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        squatter.Listen(1);
        int taken = ((System.Net.IPEndPoint)squatter.LocalEndPoint!).Port;
        var refused = Assert.ThrowsAny<Exception>(() => proxy.Reload(TestProxy.SimpleConfig([origin.Port], extraTop: $"[admin]\nbind = \"127.0.0.1:{taken}\"")));
        Assert.Contains("admin: cannot bind", refused.Message);
        Assert.Equal(next, proxy.Host.AdminEndPoint!.Port);
        Assert.Equal((200, "ok\n"), await CurlAsync($"http://127.0.0.1:{next}/healthz"));
    }

    private static bool CanConnect(int port)
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
