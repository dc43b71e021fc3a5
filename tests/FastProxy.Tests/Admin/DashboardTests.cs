using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Admin;

/// <summary>
/// GET /dashboard on the admin listener: the page itself (self-contained, with its security headers), and the page
/// running in Debian's headless chromium while a bounded wrk run goes through the proxy: no console error, its
/// numbers move, the upstream table shows each server's health. Alone in their collection: chromium and wrk want
/// the CPU, and the figures they read are the whole process's.
/// </summary>
[Collection(NonParallel.Name)]
public sealed partial class DashboardTests
{
    private const string Admin = """
        [admin]
        bind = "127.0.0.1:0"
        """;

    [Fact]
    public async Task The_page_is_self_contained_and_sent_with_a_content_security_policy_and_nosniff()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));

        var result = await Processes.CurlAsync("-i", $"http://{proxy.Host.AdminEndPoint}/dashboard");
        int split = result.StdOut.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        string head = result.StdOut[..split];
        string body = result.StdOut[(split + 4)..];

        Assert.StartsWith("HTTP/1.1 200 ", head);
        Assert.Contains("\r\nContent-Type: text/html; charset=utf-8\r\n", head);
        Assert.Contains("\r\nX-Content-Type-Options: nosniff\r\n", head);
        string csp = Regex.Match(head, "\r\nContent-Security-Policy: ([^\r]*)").Groups[1].Value;
        Assert.StartsWith("default-src 'none'; ", csp);
        Assert.Contains("connect-src 'self';", csp);
        Assert.DoesNotContain("unsafe", csp);
        Assert.DoesNotContain("http", csp);
        // The policy allows exactly the page's own inline script and style, by the hash a browser computes.
        Assert.Contains($"script-src '{Hash(body, "<script>", "</script>")}';", csp);
        Assert.Contains($"style-src '{Hash(body, "<style>", "</style>")}';", csp);
        Assert.EndsWith("</html>\n", body);
        // No external asset: no src or href but the empty data: favicon, no @import or url() in the style.
        Assert.Equal(["href=\"data:,\""], SrcOrHref().Matches(body).Select(m => m.Value));
        Assert.DoesNotContain("@import", body);
        Assert.DoesNotContain("url(", body);
        // Data reaches the document as text only: no markup is ever built from it.
        Assert.Empty(MarkupSink().Matches(body));
        // The page reads what the admin listener serves, by path.
        Assert.Contains("fetchText('/metrics')", body);
        Assert.Contains("fetchText('/upstreams')", body);
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task In_chromium_the_page_runs_clean_its_figures_move_under_wrk_and_it_lists_each_servers_health()
    {
        await using var a = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var b = new RawUpstream(_ => RawUpstream.Ok("b"));
        // A server nobody listens on: the health checks take it down, and the page must say so.
        int dead = ProxyProcess.FreePort();
        string config = TestProxy.SimpleConfig([a.Port, b.Port, dead], extraTop: Admin, extraUpstream: """
            [upstreams.app.health]
            path = "/healthz"
            interval = "200ms"
            timeout = "500ms"
            unhealthy = 1
            healthy = 1
            """);
        await using var proxy = TestProxy.Start(config);
        string admin = $"http://{proxy.Host.AdminEndPoint}";
        string[] servers = [$"127.0.0.1:{a.Port}", $"127.0.0.1:{b.Port}", $"127.0.0.1:{dead}"];

        await using var chromium = await HeadlessChromium.StartAsync(1280, 1000);
        await chromium.NavigateAsync(admin + "/dashboard");
        await chromium.UntilAsync("window.fastproxyDashboard.polls >= 2", "two polls", TimeSpan.FromSeconds(20));
        Assert.Equal("", await chromium.TextAsync("window.fastproxyDashboard.lastError"));
        await chromium.UntilAsync(
            $"[...document.querySelectorAll('#upstreams tr')].map(r => r.dataset.server + ' ' + r.dataset.state).join(',') === " +
            $"'{servers[0]} up,{servers[1]} up,{servers[2]} down'",
            "the three servers, the dead one down", TimeSpan.FromSeconds(15));
        Assert.Equal("app", await chromium.TextAsync("document.querySelector('#upstreams tr td').textContent"));

        // One reload applied, one refused (a second listener on a port someone else holds): both listed, in order.
        proxy.Reload(config);
        using (var holder = PortHolder.Plain())
        {
            Assert.Throws<FastProxy.Transport.ListenerBindException>(() => proxy.Reload(config + $$"""

                [[listeners]]
                name = "taken"
                bind = "127.0.0.1:{{holder.Port}}"
                """));
        }
        await chromium.UntilAsync("[...document.querySelectorAll('#reloads li')].map(l => l.className).join(',') === 'refused,ok'",
            "the refused reload above the applied one", TimeSpan.FromSeconds(10));
        Assert.Contains("refused (the old configuration kept serving)", await chromium.TextAsync("document.querySelector('#reloads li').textContent"));

        double before2xx = await Figure(chromium, "count-2xx");

        var load = Wrk.RunAsync(proxy.Url("/").ToString(), connections: 4, TimeSpan.FromSeconds(4));
        // While wrk runs: requests per second above zero, the 2xx count moving, a p50 estimated from the histogram.
        await chromium.UntilAsync(
            "Number(document.getElementById('rps').dataset.value) > 0" +
            $" && Number(document.getElementById('count-2xx').dataset.value) > {before2xx}" +
            " && document.getElementById('p50').dataset.value !== ''",
            "requests/s, the 2xx count and p50 to move", TimeSpan.FromSeconds(15));
        double rps = await Figure(chromium, "rps");
        double rate2xx = await Figure(chromium, "rate-2xx");
        double p50 = await Figure(chromium, "p50");
        double p99 = await Figure(chromium, "p99");
        // A second of traffic on the chart, then the picture for docs/operations.md.
        await chromium.UntilAsync("window.fastproxyDashboard.points.filter(p => p.total > 0).length >= 2", "two points of traffic on the chart", TimeSpan.FromSeconds(10));
        byte[] png = await chromium.ScreenshotAsync();
        var result = await load;
        double after2xx = await Figure(chromium, "count-2xx");

        Assert.True(result.Requests > 0, result.Output);
        Assert.True(rps > 0 && rate2xx > 0, $"rps {rps}, 2xx/s {rate2xx}");
        Assert.True(after2xx > before2xx, $"2xx count {before2xx} -> {after2xx}");
        // Estimated inside the histogram's buckets (the last finite bound is 10 s), p99 not below p50.
        Assert.InRange(p50, 0, 10);
        Assert.InRange(p99, p50, 10);
        Assert.Equal(0, await Figure(chromium, "rate-5xx"));
        Assert.Equal("up,up,down", await chromium.TextAsync("[...document.querySelectorAll('#upstreams tr')].map(r => r.dataset.state).join(',')"));
        Assert.Equal("", await chromium.TextAsync("window.fastproxyDashboard.lastError"));
        Assert.Empty(chromium.Errors);
        Assert.Equal("0", await chromium.TextAsync("window.fastproxyDashboard.unreadableLines"));

        Assert.Equal(0x89, png[0]);
        // FASTPROXY_UPDATE_SCREENSHOTS=1 refreshes the committed picture; otherwise it goes to the temp folder.
        string path = Environment.GetEnvironmentVariable("FASTPROXY_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(Processes.RepoRoot, "docs", "dashboard.png")
            : Path.Combine(Path.GetTempPath(), "fastproxy-dashboard.png");
        await File.WriteAllBytesAsync(path, png);
    }

    [Fact]
    public async Task The_page_reads_the_exposition_format_and_estimates_percentiles_as_histogram_quantile_does()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));
        await using var chromium = await HeadlessChromium.StartAsync(800, 600);
        await chromium.NavigateAsync($"http://{proxy.Host.AdminEndPoint}/dashboard");

        // Two scrapes a second apart. Between them: 50 requests in (5 ms, 10 ms] on one listener (a route name with
        // an escaped quote and backslash, a comma and a brace), 40 in (10 ms, 25 ms] and 10 above 10 s on another.
        string before = Scrape(web: [0, 0, 0, 10], api: [0, 0, 0, 0, 0], webCount: 10, apiCount: 0);
        string after = Scrape(web: [0, 0, 0, 60], api: [0, 0, 0, 0, 40], webCount: 60, apiCount: 50);
        string script = $$"""
            (() => {
              const d = window.fastproxyDashboard.internals;
              const a = d.sampleOf(d.parseMetrics({{System.Text.Json.Nodes.JsonValue.Create(before)!.ToJsonString()}}), 0);
              const b = d.sampleOf(d.parseMetrics({{System.Text.Json.Nodes.JsonValue.Create(after)!.ToJsonString()}}), 1000);
              const labels = d.parseMetrics({{System.Text.Json.Nodes.JsonValue.Create(after)!.ToJsonString()}}).get('fastproxy_requests_total')[0].labels;
              return [0.5, 0.75, 0.9, 0.99].map(q => Number(d.quantile(q, a, b).toPrecision(12))).join(' ')
                + ' | ' + b.total + ' ' + b.classes['2xx'] + ' ' + b.classes['5xx'] + ' | ' + labels.route + ' | ' + window.fastproxyDashboard.unreadableLines;
            })()
            """;

        string? result = await chromium.TextAsync(script);

        // p50: rank 50 of 100 ends the (5 ms, 10 ms] bucket; p75: rank 75 is 25 of the 40 in (10 ms, 25 ms], linear
        // inside it; p90: the top of that bucket; p99 falls in +Inf, which answers the highest finite bound, 10 s.
        Assert.Equal("0.01 0.019375 0.025 10 | 110 100 10 | x\"y\\z,}w | 1", result);
        Assert.Empty(chromium.Errors);
    }

    private static readonly string[] Bounds = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];

    /// <summary>An exposition with both listeners' duration histograms (cumulative counts given up to where they stop rising) and their requests.</summary>
    private static string Scrape(long[] web, long[] api, long webCount, long apiCount)
    {
        var text = new StringBuilder();
        text.Append("# HELP fastproxy_requests_total Requests answered {with braces} and \"quotes\".\n# TYPE fastproxy_requests_total counter\n");
        text.Append($"fastproxy_requests_total{{listener=\"web\",route=\"x\\\"y\\\\z,}}w\",upstream=\"app\",method=\"GET\",code=\"2xx\"}} {webCount}\n");
        text.Append($"fastproxy_requests_total{{listener=\"api\",route=\"\",upstream=\"\",method=\"other\",code=\"2xx\"}} {Math.Max(0, apiCount - 10)}\n");
        text.Append($"fastproxy_requests_total{{listener=\"api\",route=\"\",upstream=\"\",method=\"other\",code=\"5xx\"}} {(apiCount == 0 ? 0 : 10)}\n");
        text.Append("this line is not a sample\n");
        text.Append("# TYPE fastproxy_request_duration_seconds histogram\n");
        foreach (var (listener, counts, total) in new[] { ("web", web, webCount), ("api", api, apiCount) })
        {
            string route = listener == "web" ? "x\\\"y\\\\z,}w" : "";
            for (int i = 0; i < Bounds.Length; i++)
            {
                long cumulative = Bounds[i] == "+Inf" ? total : i < counts.Length ? counts[i] : counts[^1];
                text.Append($"fastproxy_request_duration_seconds_bucket{{listener=\"{listener}\",route=\"{route}\",le=\"{Bounds[i]}\"}} {cumulative}\n");
            }
            text.Append($"fastproxy_request_duration_seconds_count{{listener=\"{listener}\",route=\"{route}\"}} {total}\n");
        }
        return text.ToString();
    }

    private static async Task<double> Figure(HeadlessChromium chromium, string id)
    {
        string? value = await chromium.TextAsync($"document.getElementById('{id}').dataset.value");
        Assert.False(string.IsNullOrEmpty(value), $"#{id} shows no figure");
        return double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Hash(string page, string open, string close)
    {
        int start = page.IndexOf(open, StringComparison.Ordinal) + open.Length;
        int end = page.IndexOf(close, start, StringComparison.Ordinal);
        return "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(page[start..end])));
    }

    [GeneratedRegex(@"\.(?:inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function")]
    private static partial Regex MarkupSink();

    [GeneratedRegex("""\b(?:src|href)\s*=\s*"[^"]*"|\b(?:src|href)\s*=\s*'[^']*'""")]
    private static partial Regex SrcOrHref();
}
