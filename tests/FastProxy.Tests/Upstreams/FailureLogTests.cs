using System.Net;
using System.Net.Http;
using System.Text.RegularExpressions;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>
/// The log of a server that keeps failing, in the native AOT binary: one line per 10 s per server and kind, the
/// failures in between counted, not a line per request (a dead backend under 4 clients wrote 56 warnings in a second).
/// </summary>
public sealed partial class FailureLogTests
{
    /// <summary>A failure's own line, with the failures left out before it: "... (55 more like this in the last 10s)".</summary>
    [GeneratedRegex(@"\((\d+) more like this in the last \d+s\)$")]
    private static partial Regex WithRepeats();

    /// <summary>The heartbeat's line for failures left out that no later failure reported.</summary>
    [GeneratedRegex(@": (\d+) more failed connects to 127\.0\.0\.1:\d+ in the last \d+s")]
    private static partial Regex Summary();

    /// <summary>How many failures a log line stands for.</summary>
    private static int Accounts(string line)
    {
        if (Summary().Match(line) is { Success: true } summary) return int.Parse(summary.Groups[1].Value);
        return 1 + (WithRepeats().Match(line) is { Success: true } repeats ? int.Parse(repeats.Groups[1].Value) : 0);
    }

    [Fact]
    public async Task A_dead_server_under_load_logs_one_line_and_then_the_count_of_the_failures_left_out()
    {
        int dead = ProxyProcess.FreePort(); // bound and released: connects are refused
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"

            [[routes]]
            upstream = "app"

            [upstreams.app]
            servers = ["127.0.0.1:{{dead}}"]
            """, out var configPath);
        try
        {
            await proxy.WaitForPortAsync(port);
            const int Requests = 200;
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            int badGateway = 0;
            var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                for (int i = 0; i < Requests / 4; i++)
                {
                    using var response = await client.GetAsync($"http://127.0.0.1:{port}/x");
                    if (response.StatusCode == HttpStatusCode.BadGateway) Interlocked.Increment(ref badGateway);
                }
            }));
            await Task.WhenAll(clients);
            Assert.Equal(Requests, badGateway);

            // Every failure is in the log: written, or counted in a later line (the heartbeat writes the count once the
            // 10 s interval is over, when no further failure does).
            string prefix = $"upstream \"app\": ";
            string[] Lines() => [.. proxy.StdErr.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Contains(" warn ") && l.Contains(prefix))];
            int Accounted() => Lines().Sum(Accounts);
            await Wait.UntilAsync(() => Accounted() >= Requests, $"all {Requests} failures accounted for in:\n{proxy.StdErr}", TimeSpan.FromSeconds(30));

            var lines = Lines();
            Assert.Equal(Requests, Accounted());
            Assert.StartsWith($"{prefix}cannot connect to 127.0.0.1:{dead}: Connection refused", lines[0][lines[0].IndexOf(prefix, StringComparison.Ordinal)..]);
            Assert.Contains(lines, l => Summary().IsMatch(l) || WithRepeats().IsMatch(l));
            // One line per 10 s: the first, then one for each interval the requests and the count spanned.
            Assert.InRange(lines.Length, 2, 4);
        }
        finally
        {
            File.Delete(configPath);
        }
    }
}
