using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Observability.AccessLog;

/// <summary>
/// The access log in the native binary: logrotate's rename then SIGUSR1 (a raw signal number, registered through
/// PosixSignalRegistration, which must work under native AOT), stdout, and a tiny queue under wrk: lines are dropped
/// and counted while every request still succeeds.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class AccessLogProcessTests
{
    private static string Config(int port, int origin, string accessLog) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{origin}}" } ]
        {{accessLog}}
        """;

    [Fact]
    public async Task Rename_then_sigusr1_sends_new_lines_to_a_new_file()
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, origin.Port, log.Section()), out _);
        await proxy.WaitForPortAsync(port);

        await CurlAnswer.GetAsync(false, $"http://127.0.0.1:{port}/one");
        Assert.Equal("/one", Assert.Single(await log.WaitForJsonAsync(1)).GetProperty("path").GetString());

        // logrotate: rename, then signal. Until the signal, lines still go to the renamed file.
        string rotated = log.Path + ".1";
        File.Move(log.Path, rotated);
        await CurlAnswer.GetAsync(false, $"http://127.0.0.1:{port}/two");
        await log.WaitForLinesAsync(2, rotated);
        await proxy.SignalAsync("USR1");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!File.Exists(log.Path))
        {
            Assert.False(proxy.HasExited, "SIGUSR1 stopped the proxy: " + proxy.StdErr);
            Assert.True(DateTime.UtcNow < deadline, "no new file after SIGUSR1: " + proxy.StdErr);
            await Task.Delay(20);
        }
        await CurlAnswer.GetAsync(false, $"http://127.0.0.1:{port}/three");

        Assert.Equal(["/three"], (await log.WaitForJsonAsync(1)).Select(l => l.GetProperty("path").GetString()));
        Assert.Equal(["/one", "/two"], (await log.WaitForJsonAsync(2, rotated)).Select(l => l.GetProperty("path").GetString()));
        Assert.Contains("access log: reopened", proxy.StdErr);
        Assert.False(proxy.HasExited);
    }

    [Fact]
    public async Task Sigusr1_without_an_access_log_does_not_stop_the_proxy()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, origin.Port, ""), out _);
        await proxy.WaitForPortAsync(port);

        await proxy.SignalAsync("USR1");
        await Task.Delay(200);

        Assert.False(proxy.HasExited, proxy.StdErr);
        Assert.Equal(200, (await CurlAnswer.GetAsync(false, $"http://127.0.0.1:{port}/")).Status);
    }

    [Fact]
    public async Task Stdout_gets_json_lines()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, origin.Port, "[access_log]\npath = \"stdout\"\nflush_interval = \"10ms\""), out _);
        await proxy.WaitForPortAsync(port);

        await CurlAnswer.GetAsync(false, $"http://127.0.0.1:{port}/to-stdout");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!proxy.StdOut.Contains('\n'))
        {
            Assert.True(DateTime.UtcNow < deadline, "nothing on stdout: " + proxy.StdErr);
            await Task.Delay(20);
        }
        var line = System.Text.Json.JsonDocument.Parse(proxy.StdOut.Split('\n')[0]).RootElement;
        Assert.Equal("/to-stdout", line.GetProperty("path").GetString());
    }

    [Fact]
    public async Task A_tiny_queue_under_load_drops_and_counts_lines_and_every_request_succeeds()
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        int port = ProxyProcess.FreePort();
        // 16 slots, and a writer that writes a batch at most every 2 s: the queue fills within the first milliseconds.
        var section = log.Section(extra: "queue = 16").Replace("flush_interval = \"10ms\"", "flush_interval = \"2s\"");
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, origin.Port, section), out _);
        await proxy.WaitForPortAsync(port);

        var wrk = await Wrk.RunAsync($"http://127.0.0.1:{port}/load", connections: 8, TimeSpan.FromSeconds(3));
        Assert.True(wrk.Requests > 1000, wrk.Output);
        Assert.Equal(0, wrk.SocketErrors);
        Assert.Equal(0, wrk.Non2xx);

        // Stop: what is queued is written. Every request is a line in the file or a dropped line.
        await proxy.SignalAsync("TERM");
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        long lines = log.Lines().Length;
        Assert.True(lines < wrk.Requests, $"{lines} lines for {wrk.Requests} requests: nothing was dropped");
        Assert.True(lines >= 16, $"only {lines} lines");
        Assert.Matches(@"access log: \d+ line\(s\) written, \d+ dropped", proxy.StdErr);
        var counts = System.Text.RegularExpressions.Regex.Match(proxy.StdErr, @"access log: (\d+) line\(s\) written, (\d+) dropped");
        Assert.Equal(lines, long.Parse(counts.Groups[1].Value));
        // wrk counts the requests it saw answered; the proxy may have answered a few more as wrk stopped.
        Assert.True(long.Parse(counts.Groups[1].Value) + long.Parse(counts.Groups[2].Value) >= wrk.Requests,
            $"written {counts.Groups[1].Value} + dropped {counts.Groups[2].Value} < {wrk.Requests} requests");
    }
}
