using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>
/// The balancing extras allocate nothing per request: consistent_hash hashing a header (XxHash3 over the bytes), a
/// sticky cookie set on every response (wrk and h2load keep no cookies: each response carries Set-Cookie, written
/// from bytes built at load through the connection's policy context), and p2c recording response times. Measured as
/// the plain path is (allocation probe, wrk and h2load as clients).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class BalancingAllocationTests
{
    private const string HashAndSticky = "balance = \"consistent_hash\"\nhash_key = \"header:x-user\"\nsticky = { cookie = \"srv\", ttl = \"1h\" }\n";
    private const string P2c = "balance = \"p2c\"\n";

    [Fact]
    public async Task Consistent_hash_and_sticky_allocate_nothing_over_http1()
        => await AssertAllocatesNothingAsync(HashAndSticky, "--wrk", "64", "6");

    [Fact]
    public async Task Consistent_hash_and_sticky_allocate_nothing_over_http2()
        => await AssertAllocatesNothingAsync(HashAndSticky, "--h2load", "4", "8", "6");

    [Fact]
    public async Task P2c_allocates_nothing_over_http1()
        => await AssertAllocatesNothingAsync(P2c, "--wrk", "64", "6");

    private static async Task AssertAllocatesNothingAsync(string upstreamKeys, params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            // Lands in [upstreams.app] (right after its servers line in the probe's configuration).
            ["FASTPROXY_PROBE_GATEWAY"] = upstreamKeys,
            ["FASTPROXY_PROBE_HEADERS"] = "x-user: 42",
        };
        await AllocationTests.AssertBestOfThreeAsync(environment, "allocations with " + upstreamKeys.Split('\n')[0], args);
    }
}
