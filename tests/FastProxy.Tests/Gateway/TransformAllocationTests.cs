using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// Header transforms allocate nothing per request in steady state (issue 17, Speed): the bench "transform" scenario's
/// policy (bench/load/proxy-fastproxy-transform.toml.in) — three request fields set, one of them from the
/// {client_ip} template, a field the client sends removed, and a response field set — measured like the plain path
/// (tests/FastProxy.AllocationProbe with wrk and h2load as clients, every request carrying the field to remove).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class TransformAllocationTests
{
    [Fact]
    public async Task Header_transforms_allocate_nothing_over_http1()
        => await AssertAllocatesNothingAsync("--wrk", "64", "6");

    [Fact]
    public async Task Header_transforms_allocate_nothing_over_http2()
        => await AssertAllocatesNothingAsync("--h2load", "4", "8", "6");

    private static async Task AssertAllocatesNothingAsync(params string[] args)
    {
        var environment = new Dictionary<string, string>
        {
            ["FASTPROXY_PROBE_GATEWAY"] = """
                [policies.transform]
                type = "headers"
                request = { set = { "x-gw-version" = "2", "x-gw-tier" = "gold", "x-gw-client" = "{client_ip}" }, remove = ["x-internal-debug"] }
                response = { set = { "x-content-type-options" = "nosniff" } }

                """,
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"transform\"]",
            ["FASTPROXY_PROBE_HEADERS"] = "x-internal-debug: 1\nx-gw-tier: client-sent",
        };
        await AllocationTests.AssertBestOfThreeAsync(environment, "allocations through the header transforms", args);
    }
}
