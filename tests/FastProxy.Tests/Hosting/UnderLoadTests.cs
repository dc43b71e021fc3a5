using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Hosting;

/// <summary>
/// Zero-downtime operations under real load: bounded wrk runs (one thread, a few connections, seconds) while
/// servers die and come back, the config is reloaded, the proxy stops, and slow clients hold connections.
/// Alone in their collection: they measure the whole process and must not compete with other tests for the CPU.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class UnderLoadTests
{
    private static bool IsCheck(UpstreamRequest r) => r.RequestLine.StartsWith("GET /healthz ", StringComparison.Ordinal);

    [Fact]
    public async Task Killing_one_of_two_servers_under_load_fails_no_request_and_its_traffic_returns_after_a_restart()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        var b = new RawUpstream(_ => RawUpstream.Ok("b"));
        int bPort = b.Port;
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([a.Port, bPort], extraUpstream: """
            [upstreams.app.health]
            path = "/healthz"
            interval = "200ms"
            timeout = "500ms"
            unhealthy = 2
            healthy = 2
            [upstreams.app.passive]
            consecutive_failures = 3
            eject = "500ms"
            max_ejected_percent = 50
            [upstreams.app.retry]
            attempts = 2
            # Every request in flight to b fails at once when it dies (up to all 8 connections' worth): a budget of
            # 20% (floor 3 retries in flight) could then turn one of them into a 502. The budget has its own tests;
            # here the point is that the retries themselves work.
            budget_percent = 100
            """));
        var serverB = proxy.Host.Runtime.Upstreams["app"].Servers[1];

        var load = Wrk.RunAsync(proxy.Url("/").ToString(), connections: 8, TimeSpan.FromSeconds(7));
        await Task.Delay(1500);
        int bServedBeforeKill = b.Requests.Count(r => !IsCheck(r));
        await b.DisposeAsync();
        var killedAt = Stopwatch.StartNew();
        await Wait.UntilAsync(() => !serverB.State.IsAvailable, "b taken out");
        long takenOutMs = killedAt.ElapsedMilliseconds;

        await Task.Delay(1000);
        long restartedAtMs = killedAt.ElapsedMilliseconds;
        await using var restarted = new RawUpstream(_ => RawUpstream.Ok("b again"), port: bPort);
        // Back within the thresholds: `healthy` checks (2 x 200 ms) and whatever is left of its ejection (at most a few x 500 ms).
        await Wait.UntilAsync(() => restarted.Requests.Any(r => !IsCheck(r)), "traffic on the restarted server", TimeSpan.FromSeconds(5));
        long returnedAfterMs = killedAt.ElapsedMilliseconds - restartedAtMs;
        var result = await load;

        Assert.True(bServedBeforeKill > 0, "b served before it was killed");
        Assert.True(result.Requests > 500, result.ToString());
        Assert.True(result.Non2xx == 0 && result.SocketErrors == 0, $"taken out after {takenOutMs} ms; back after {returnedAfterMs} ms\n{result}");
        Assert.InRange(returnedAfterMs, 0, 4000);
    }

    [Fact]
    public async Task Sighup_under_load_fails_no_request_and_a_broken_config_keeps_the_old_one_serving()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var b = new RawUpstream(_ => RawUpstream.Ok("b"));
        int port = ProxyProcess.FreePort();
        string Config(int upstreamPort) => $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"
            [[listeners]]
            name = "extra{{upstreamPort}}"
            bind = "127.0.0.1:0"
            [[routes]]
            upstream = "app"
            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{upstreamPort}}" } ]
            """;
        await using var proxy = ProxyProcess.StartWithConfig(Config(a.Port), out string path);
        await proxy.WaitForPortAsync(port);

        var load = Wrk.RunAsync($"http://127.0.0.1:{port}/", connections: 16, TimeSpan.FromSeconds(5));
        for (int i = 0; i < 6; i++)
        {
            await Task.Delay(600);
            // Alternate the upstream, and with it a listener that is added and removed each time.
            File.WriteAllText(path, Config(i % 2 == 0 ? b.Port : a.Port));
            await proxy.SignalAsync("HUP");
        }
        await Task.Delay(300);
        File.WriteAllText(path, "this is [not toml");
        await proxy.SignalAsync("HUP");
        var result = await load;

        Assert.True(result.Requests > 500, result.ToString());
        Assert.True(result.Non2xx == 0 && result.SocketErrors == 0, result.ToString());
        await Wait.UntilAsync(() => proxy.StdErr.Contains("reload refused"), "the broken config refused");
        Assert.Equal(6, CountOf(proxy.StdErr, "reloaded "));
        Assert.Contains(a.Requests, r => true);
        Assert.Contains(b.Requests, r => true);
        // The last good config (upstream a) still serves.
        var after = await Processes.CurlAsync($"http://127.0.0.1:{port}/");
        Assert.Equal("a", after.StdOut);
        await proxy.SignalAsync("TERM");
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        File.Delete(path);
    }

    [Fact]
    public async Task Sigterm_under_load_answers_every_request_that_reached_a_server_then_exits_0()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await Task.Delay(r.RequestLine.StartsWith("GET /slow", StringComparison.Ordinal) ? 800 : 5);
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone");
        });
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
            servers = [ { address = "127.0.0.1:{{origin.Port}}" } ]
            """, out string path);
        await proxy.WaitForPortAsync(port);

        var load = Wrk.RunAsync($"http://127.0.0.1:{port}/", connections: 8, TimeSpan.FromSeconds(3));
        await Task.Delay(1000);
        // Twenty slow requests in flight when the signal comes.
        var slow = new List<(WireClient Client, Task<WireResponse> Reply)>();
        for (int i = 0; i < 20; i++)
        {
            var client = new WireClient(port);
            slow.Add((client, client.RoundTripAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", TimeSpan.FromSeconds(10))));
        }
        await Wait.UntilAsync(() => origin.Requests.Count(r => r.RequestLine.StartsWith("GET /slow", StringComparison.Ordinal)) == 20, "slow requests in flight");
        await proxy.SignalAsync("TERM");

        foreach (var (client, reply) in slow)
        {
            var response = await reply;
            Assert.Equal(200, response.Status);
            Assert.Equal("done", response.BodyText);
            Assert.Equal("close", response.Header("Connection"));
            client.Dispose();
        }
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        var result = await load;
        // Every request wrk sent that reached the origin was answered to wrk (refused connects after the stop are expected).
        long reachedByLoad = origin.Requests.Count(r => !r.RequestLine.StartsWith("GET /slow", StringComparison.Ordinal));
        Assert.True(reachedByLoad > 100, result.ToString());
        Assert.Equal(reachedByLoad, result.Requests);
        Assert.Equal(0, result.Non2xx);
        Assert.Equal(0, result.Timeout);
        File.Delete(path);
    }

    [Fact]
    public async Task Slowloris_connections_get_408_while_a_normal_client_is_served()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("fine"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: """
            [limits]
            header_timeout = "1500ms"
            """));
        const int Slow = 500;
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < Slow; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                s.Connect(proxy.EndPoint());
                s.Send("GET / HTTP/1.1\r\nHost: x\r\n"u8.ToArray());
                sockets.Add(s);
            }
            var started = Stopwatch.StartNew();
            // Trickle a header line byte by byte to every connection, every 100 ms, for 3 s at most.
            var trickle = Task.Run(async () =>
            {
                var line = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"u8.ToArray();
                for (int step = 0; step < 30; step++)
                {
                    foreach (var s in sockets)
                    {
                        try { s.Send(line.AsSpan(step % line.Length, 1)); } catch (SocketException) { }
                    }
                    await Task.Delay(100);
                }
            });

            // Meanwhile, a normal client gets answers quickly.
            using (var client = new WireClient(proxy.Port()))
            {
                for (int i = 0; i < 10; i++)
                {
                    var watch = Stopwatch.StartNew();
                    var response = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
                    Assert.Equal("fine", response.BodyText);
                    Assert.True(watch.ElapsedMilliseconds < 1000, $"normal request took {watch.ElapsedMilliseconds} ms");
                    await Task.Delay(100);
                }
            }

            var replies = await Task.WhenAll(sockets.Select(ReadAllAsync));
            await trickle;
            Assert.All(replies, reply => Assert.StartsWith("HTTP/1.1 408 ", reply));
            // Not before header_timeout (1.5 s), and well before the trickle would have finished a head.
            Assert.True(started.ElapsedMilliseconds >= 1400, $"{started.ElapsedMilliseconds} ms");
            Assert.Single(origin.Requests.Select(r => r.ConnectionId).Distinct());
            Assert.Equal(10, origin.Requests.Count);
        }
        finally
        {
            foreach (var s in sockets) s.Dispose();
        }
    }

    private static async Task<string> ReadAllAsync(Socket socket)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[4096];
        var text = new StringBuilder();
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) break;
                text.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            // A reset after the 408 (the trickle kept sending) still leaves the 408 read.
        }
        return text.ToString();
    }

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
