using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A per-ip rate_limit set high enough never to refuse allocates nothing per request: the key is built on the stack,
/// the client's slot found without a lock and counted with one compare-and-swap, and the RateLimit-Policy / RateLimit
/// fields written from bytes formatted at load plus two numbers. Measured like the plain path (allocation probe, wrk
/// and h2load as clients).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class RateLimitAllocationTests
{
    [Fact]
    public async Task A_never_triggering_per_ip_limit_allocates_nothing_over_http1()
        => await AssertAllocatesNothingAsync("--wrk", "64", "6");

    [Fact]
    public async Task A_never_triggering_per_ip_limit_allocates_nothing_over_http2()
        => await AssertAllocatesNothingAsync("--h2load", "4", "8", "6");

    private static async Task AssertAllocatesNothingAsync(params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["FASTPROXY_PROBE_GATEWAY"] = """
                [policies.rl]
                type = "rate_limit"
                key = "ip"
                rate = "1000000/s"

                """,
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"rl\"]",
        };
        await AllocationTests.AssertBestOfThreeAsync(environment, "allocations through rate_limit", args);
    }
}
