using System.Security.Cryptography;
using System.Text;
using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A route with gateway policies allocates nothing per request in steady state either: ip_filter, api_key (the key
/// hashed on the stack, the consumer found by digest), the consumer's headers and a response header (a cached JWT:
/// JwtAllocationTests). Measured like the plain path (tests/FastProxy.AllocationProbe, wrk and
/// h2load as clients), so a policy that allocates per request fails here.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class GatewayAllocationTests
{
    private const string ApiKey = "probe-key-0123456789";

    [Fact]
    public async Task Ip_filter_api_key_and_headers_allocate_nothing_over_http1()
        => await AssertAllocatesNothingAsync(Environment(), "--wrk", "64", "6");

    [Fact]
    public async Task Ip_filter_api_key_and_headers_allocate_nothing_over_http2()
        => await AssertAllocatesNothingAsync(Environment(), "--h2load", "4", "8", "6");

    // A cached jwt on the same path: JwtAllocationTests.

    private static async Task AssertAllocatesNothingAsync(Dictionary<string, string> environment, params string[] args)
    {
        await AllocationTests.AssertBestOfThreeAsync(environment, "allocations through the policy chain", args);
    }

    internal static Dictionary<string, string> Environment()
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey)));
        var gateway = new StringBuilder($$"""
            [consumers.probe]
            api_keys = ["sha256:{{hash}}"]
            groups = ["bench"]
            jwt_subject = "probe"
            [policies.ips]
            type = "ip_filter"
            allow = ["127.0.0.0/8", "::1"]
            [policies.keys]
            type = "api_key"
            header = "x-api-key"
            [policies.stamp]
            type = "headers"
            response = { set = { "x-served-by" = "fastproxy" } }

            """);
        const string policies = "[\"ips\", \"keys\", \"stamp\"]";
        string headers = $"x-api-key: {ApiKey}";
        return new Dictionary<string, string>
        {
            ["FASTPROXY_PROBE_GATEWAY"] = gateway.ToString(),
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = policies,
            ["FASTPROXY_PROBE_HEADERS"] = headers,
        };
    }
}
