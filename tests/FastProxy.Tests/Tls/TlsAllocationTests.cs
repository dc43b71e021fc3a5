using System.Diagnostics;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tls;

/// <summary>
/// Requests over established TLS connections allocate nothing in steady state either: the pipes over SslStream reuse
/// their blocks, and the pump loops are one state machine per connection, not per read or write.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class TlsAllocationTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <param name="hsts">With [listeners.hsts]: its Strict-Transport-Security line on every answer costs nothing either.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Keep_alive_requests_over_TLS_allocate_nothing_in_steady_state(bool hsts)
    {
        var site = _files.Server("site", ["site.example.com"]);
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"
            {{(hsts ? "[listeners.hsts]" : "")}}

            [[routes]]
            respond = { status = 200, body = "hello, world\n" }
            """);
        // wrk over TLS with 64 keep-alive connections for 8 s; measured: the middle 3 s, when every handshake is done
        // and no connection closes yet (a close costs SslStream an exception, and so does wrk's reset at the end).
        var load = Processes.RunAsync("wrk", ["-t1", "-c64", "-d8s", $"https://127.0.0.1:{proxy.Port()}/"], TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(3));
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var window = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(3));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        double seconds = window.Elapsed.TotalSeconds;
        var result = await load;

        var line = result.StdOut.Split('\n').Single(l => l.Contains("requests in"));
        long total = long.Parse(line.Trim().Split(' ')[0]);
        Assert.DoesNotContain("Non-2xx", result.StdOut);
        // Requests in the window, from the run's average rate (wrk reports totals only).
        double requests = total / 8.0 * seconds;
        Assert.True(requests > 10_000, $"only ~{requests:F0} requests in the window: {result.StdOut}");
        // Any object per request is at least 24 bytes; 8 per request leaves room for the odd runtime allocation.
        Assert.True(allocated < requests * 8, $"{allocated} bytes allocated over ~{requests:F0} requests ({allocated / requests:F2} per request)");
    }
}
