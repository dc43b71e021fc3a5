using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Observability;

/// <summary>
/// With metrics on (an [admin] listener) the request path still allocates nothing per request: the plain probe's
/// windows of 20,000 requests, and wrk / h2load runs (plain and through the gateway chain, per_consumer on) with
/// /metrics scraped during each run (tests/FastProxy.AllocationProbe, FASTPROXY_PROBE_SCRAPES: the same number of
/// scrapes in both measured runs, so their own allocations cancel and the per-request cost is what is left).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class MetricsAllocationTests
{
    private const string Admin = """

        [admin]
        bind = "127.0.0.1:0"
        [metrics]
        per_consumer = true

        """;

    private const int Scrapes = 3;

    [Theory]
    [InlineData("GET /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")]
    [InlineData("POST /chunks HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")]
    [InlineData("GET /respond HTTP/1.1\r\nHost: example.test\r\n\r\n")]
    public async Task Recorded_requests_allocate_nothing_in_steady_state(string request)
    {
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string probe = Path.Combine(Processes.RepoRoot, "tests", "FastProxy.AllocationProbe", "bin", configuration, "net10.0", "FastProxy.AllocationProbe.dll");
        var result = await Processes.RunAsync("dotnet", [probe, request.Replace("\r", "\\r").Replace("\n", "\\n"), "4", "20000", "1"], TimeSpan.FromSeconds(120),
            environment: new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0", ["FASTPROXY_PROBE_GATEWAY"] = Admin });
        Assert.True(result.ExitCode == 0, result.StdErr);
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')).ToDictionary(p => p[0], p => p[1..]);
        // The probe's proxy had its [admin] listener: every request was recorded.
        Assert.Equal("True", lines["metrics-enabled"][0]);
        long[] windows = lines["allocated-bytes"].Select(long.Parse).ToArray();
        Assert.True(windows.All(w => w < 20_000), $"bytes allocated per window of 20,000 recorded requests: {string.Join(", ", windows)}");
    }

    [Fact]
    public async Task Http1_under_wrk_with_scrapes_allocates_nothing_per_request()
        => await AssertAllocatesNothingAsync(Plain(), "--wrk", "64", "6");

    [Fact]
    public async Task Http2_under_h2load_with_scrapes_allocates_nothing_per_request()
        => await AssertAllocatesNothingAsync(Plain(), "--h2load", "4", "8", "6");

    [Fact]
    public async Task The_gateway_chain_with_per_consumer_metrics_and_scrapes_allocates_nothing_per_request_over_http1()
        => await AssertAllocatesNothingAsync(Gateway(), "--wrk", "64", "6");

    [Fact]
    public async Task The_gateway_chain_with_per_consumer_metrics_and_scrapes_allocates_nothing_per_request_over_http2()
        => await AssertAllocatesNothingAsync(Gateway(), "--h2load", "4", "8", "6");

    private static Dictionary<string, string> Plain() => new()
    {
        ["FASTPROXY_PROBE_GATEWAY"] = Admin,
        ["FASTPROXY_PROBE_SCRAPES"] = Scrapes.ToString(),
    };

    private static Dictionary<string, string> Gateway()
    {
        var environment = GatewayAllocationTests.Environment();
        environment["FASTPROXY_PROBE_GATEWAY"] += Admin;
        environment["FASTPROXY_PROBE_SCRAPES"] = Scrapes.ToString();
        return environment;
    }

    private static async Task AssertAllocatesNothingAsync(Dictionary<string, string> environment, params string[] args)
    {
        await AllocationTests.AssertBestOfThreeAsync(environment, "allocations with metrics on", args, lines =>
        {
            // Warm-up, short and long runs: every one scraped.
            Assert.Equal((3 * Scrapes).ToString(), lines["scrapes"]);
        });
    }
}
