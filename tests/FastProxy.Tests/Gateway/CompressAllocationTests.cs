using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// What compress costs in allocations (tests/FastProxy.AllocationProbe, pinned, wrk and h2load as clients, the
/// probe's 13-byte text/plain answer made eligible with min_size = "1B"). A client that does not ask for compression
/// costs nothing per request (the stage is per connection; Vary is a precomputed line). A gzip or Brotli response
/// builds its encoder: the figure per response is printed and held to a budget. zstd's context is the connection's,
/// reset between responses: nothing per response beyond the head edits every coding shares.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class CompressAllocationTests(ITestOutputHelper output)
{
    private static Dictionary<string, string> Environment(string acceptEncoding) => new()
    {
        ["FASTPROXY_PROBE_GATEWAY"] = """
            [policies.c]
            type = "compress"
            min_size = "1B"
            encodings = ["br", "gzip", "zstd"]

            """,
        ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"c\"]",
        ["FASTPROXY_PROBE_HEADERS"] = acceptEncoding.Length == 0 ? "x-probe: 1" : "Accept-Encoding: " + acceptEncoding,
    };

    [Fact]
    public async Task A_client_without_accept_encoding_allocates_nothing_over_http1()
        => await AllocationTests.AssertBestOfThreeAsync(Environment(""), "allocations through compress (not negotiated)", ["--wrk", "64", "6"]);

    [Fact]
    public async Task A_client_without_accept_encoding_allocates_nothing_over_http2()
        => await AllocationTests.AssertBestOfThreeAsync(Environment(""), "allocations through compress (not negotiated, h2)", ["--h2load", "4", "8", "6"]);

    [Theory]
    [InlineData("gzip", 600)]
    [InlineData("br", 200)]
    [InlineData("zstd", 8)] // measured 0.0: the context is reset, not rebuilt
    public async Task A_compressed_response_allocates_within_its_budget(string encoding, int budget)
    {
        var figures = new List<double>();
        for (int run = 0; run < 3; run++)
        {
            var lines = await AllocationTests.RunPinnedProbeAsync(Environment(encoding), "--wrk", "64", "6");
            long requests = long.Parse(lines["requests"]);
            long allocated = long.Parse(lines["allocated-bytes"]);
            Assert.True(requests > 2_000, $"only {requests} requests");
            double perRequest = allocated / (double)requests;
            figures.Add(perRequest);
            output.WriteLine($"{encoding}: {perRequest:F1} bytes per compressed response over {requests} (runs {lines["per-run"]})");
            if (perRequest < budget) return;
        }
        Assert.Fail($"{encoding}: over {budget} bytes per response in every run: {string.Join(", ", figures.Select(f => f.ToString("F1")))}");
    }
}
