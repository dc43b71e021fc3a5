using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The version policy (a version read from a header, the upstream picked, Deprecation, Sunset and Vary added to every
/// answer) and the mock policy (every request answered from bytes built at load) allocate nothing per request in
/// steady state, over HTTP/1.1 (wrk) and HTTP/2 (h2load), measured by tests/FastProxy.AllocationProbe like the plain path.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class VersionMockAllocationTests
{
    private const string Version = """
        [policies.ver]
        type = "version"
        from = "header:x-api-version"
        versions = { v1 = "app" }
        deprecated = { v1 = "2027-06-30" }

        """;

    private const string Mock = """
        [policies.fake]
        type = "mock"
        status = 200
        headers = { "x-mock" = "yes" }
        body = '{"ok": true}'

        """;

    [Fact]
    public Task Version_allocates_nothing_over_http1() => AssertAllocatesNothingAsync(Version, "ver", "x-api-version: v1", "--wrk", "64", "6");

    [Fact]
    public Task Version_allocates_nothing_over_http2() => AssertAllocatesNothingAsync(Version, "ver", "x-api-version: v1", "--h2load", "4", "8", "6");

    [Fact]
    public Task Mock_allocates_nothing_over_http1() => AssertAllocatesNothingAsync(Mock, "fake", "", "--wrk", "64", "6");

    // Every answer the proxy makes itself on an HTTP/2 stream (a policy's 401/403/429, a mock) goes out through the
    // stream pump (Http2Connection.PumpAsync); forwarded answers take the direct answer instead. The pump's state
    // machine was a new Task box per stream (366 B per request here, FASTPROXY_PROBE_TYPES=1); it is pooled now.
    [Fact]
    public Task Mock_allocates_nothing_over_http2() => AssertAllocatesNothingAsync(Mock, "fake", "", "--h2load", "4", "8", "6");

    private static async Task AssertAllocatesNothingAsync(string gateway, string policy, string headers, params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["FASTPROXY_PROBE_GATEWAY"] = gateway,
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = $"[\"{policy}\"]",
            ["FASTPROXY_PROBE_HEADERS"] = headers,
        };
        var runs = new List<string>();
        for (int run = 0; run < 3; run++)
        {
            var lines = await AllocationTests.RunPinnedProbeAsync(environment, args);
            long requests = long.Parse(lines["requests"]);
            long allocated = long.Parse(lines["allocated-bytes"]);
            Assert.True(requests > 10_000, $"only {requests} requests");
            if (allocated < requests) return;
            runs.Add($"{allocated / (double)requests:F1} bytes per request over {requests} (runs {lines["per-run"]})");
        }
        Assert.Fail($"allocations through the {policy} policy in every run: " + string.Join("; ", runs));
    }
}
