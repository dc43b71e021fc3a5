using System.Diagnostics;
using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Cli;

/// <summary>Start-up, graceful stop and reload of the real binary.</summary>
public sealed class ProcessLifecycleTests
{
    [Fact]
    public async Task Native_binary_answers_its_first_request_within_100ms_of_start()
    {
        int port = ProxyProcess.FreePort();
        string path = Path.Combine(Path.GetTempPath(), $"start-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"
            [[routes]]
            respond = { status = 200, body = "up" }
            """);
        try
        {
            // Best of three: the machine is shared, and one unlucky scheduling slice is not the binary's start-up time.
            var best = TimeSpan.MaxValue;
            for (int attempt = 0; attempt < 3 && best > TimeSpan.FromMilliseconds(100); attempt++)
            {
                var clock = Stopwatch.StartNew();
                await using var proxy = ProxyProcess.Start("-c", path);
                string response = await FirstResponseAsync(port, proxy, TimeSpan.FromSeconds(10));
                var elapsed = clock.Elapsed;
                Assert.StartsWith("HTTP/1.1 200 OK", response);
                if (elapsed < best) best = elapsed;
            }
            Assert.True(best < TimeSpan.FromMilliseconds(100), $"first response took {best.TotalMilliseconds:F1} ms");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<string> FirstResponseAsync(int port, ProxyProcess proxy, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var client = new RawClient(port);
                client.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
                return await client.ReadResponseAsync();
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !proxy.HasExited)
            {
                await Task.Delay(1);
            }
        }
    }

    [Fact]
    public async Task Sigterm_finishes_in_flight_requests_then_exits_0()
    {
        // The origin takes 1 s to answer, so the request is in flight when SIGTERM arrives.
        await using var upstream = new RawUpstream(r => { Thread.Sleep(1000); return RawUpstream.Ok("slow but complete"); });
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [global]
            shutdown_timeout = "10s"
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"
            [[routes]]
            upstream = "app"
            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{upstream.Port}}" } ]
            """, out string configPath);
        await proxy.WaitForPortAsync(port);

        using var client = new RawClient(port);
        client.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
        var reply = client.ReadResponseAsync(TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => upstream.Requests.Count == 1);
        await proxy.SignalAsync("TERM");

        string response = await reply;
        Assert.StartsWith("HTTP/1.1 200 OK", response);
        Assert.Contains("Connection: close", response);
        Assert.EndsWith("slow but complete", response);
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        // Once stopped, the port no longer accepts.
        Assert.Throws<SocketException>(() => new RawClient(port));
        File.Delete(configPath);
    }

    [Fact]
    public async Task Sighup_reloads_and_a_broken_config_keeps_the_old_one_serving()
    {
        int port = ProxyProcess.FreePort();
        string Config(string body) => $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"
            [[routes]]
            respond = { status = 200, body = "{{body}}" }
            """;
        await using var proxy = ProxyProcess.StartWithConfig(Config("first"), out string path);
        await proxy.WaitForPortAsync(port);
        // A keep-alive connection opened before the reload must survive it.
        using var kept = new RawClient(port);
        kept.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.EndsWith("first", await kept.ReadResponseAsync());

        File.WriteAllText(path, Config("second"));
        await proxy.SignalAsync("HUP");
        await WaitUntilAsync(() => Get(port).Result.EndsWith("second"));

        File.WriteAllText(path, Config("third") + "\nnot toml at all = = =\n");
        await proxy.SignalAsync("HUP");
        await WaitUntilAsync(() => proxy.StdErr.Contains("reload refused"));
        Assert.EndsWith("second", await Get(port));
        Assert.Contains(path, proxy.StdErr);

        kept.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        Assert.EndsWith("second", await kept.ReadResponseAsync());
        await proxy.SignalAsync("TERM");
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        File.Delete(path);
    }

    private static async Task<string> Get(int port)
    {
        using var c = new RawClient(port);
        c.Send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        return await c.ReadResponseAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(20);
        }
    }
}
