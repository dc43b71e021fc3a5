using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Caching;

/// <summary>
/// Cache hits allocate nothing per request in steady state (issue 18, Speed): the probe's origin names no freshness,
/// so default_ttl stores its first answer and every later request is a hit (no upstream touched).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class CacheAllocationTests
{
    [Fact]
    public async Task Cache_hits_allocate_nothing_over_http1()
        => await AssertAllocatesNothingAsync("--wrk", "64", "6");

    // Served through the HTTP/2 stream pump (Http2Connection.PumpAsync): 363 B per hit while its state machine was a
    // new Task box per stream, 0 since it is pooled (perf-results/tuning-log.md).
    [Fact]
    public async Task Cache_hits_allocate_nothing_over_http2()
        => await AssertAllocatesNothingAsync("--h2load", "4", "8", "6");

    private static async Task AssertAllocatesNothingAsync(params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["FASTPROXY_PROBE_GATEWAY"] = """
                [policies.hits]
                type = "cache"
                default_ttl = "1h"

                """,
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"hits\"]",
        };
        await AllocationTests.AssertBestOfThreeAsync(environment, "allocations of cache hits", args);
    }
}
