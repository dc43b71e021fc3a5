using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A route with ip_filter and cors allocates nothing per request on the real HTTP/1.1 request path (wrk): the client
/// is looked up in the IpSets, the origin matched, and the CORS lines (Vary, Allow-Origin, Allow-Credentials,
/// Expose-Headers) added to every forwarded response. Measured by the allocation probe as the other allocation tests
/// are (the difference between a short and a long run), best of three. Not HTTP/2 yet: a response that carries policy
/// lines cannot take the direct-answer path and goes through Http2Connection.PumpAsync, whose task costs ~350 bytes
/// per stream (h2load 4x8, FASTPROXY_PROBE_TYPES=1: AsyncStateMachineBox of PumpAsync); ip_filter alone allocates
/// nothing over HTTP/2.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class IpCorsAllocationTests
{
    private static readonly Dictionary<string, string> Gateway = new()
    {
        ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"cors\", \"edge\"]",
        ["FASTPROXY_PROBE_GATEWAY"] = """
            [policies.edge]
            type = "ip_filter"
            allow = ["127.0.0.0/8", "::1", "10.0.0.0/8", "2001:db8::/32"]
            deny = ["127.0.0.2", "10.6.6.0/24"]
            [policies.cors]
            type = "cors"
            origins = ["https://app.example.com", "https://*.example.org"]
            expose_headers = ["X-Request-Id"]
            credentials = true
            """,
        ["FASTPROXY_PROBE_HEADERS"] = "Origin: https://a.b.example.org",
    };

    [Fact]
    public async Task Requests_through_ip_filter_and_cors_allocate_nothing_in_steady_state()
    {
        string[] args = ["--wrk", "16", "6"];
        await AllocationTests.AssertBestOfThreeAsync(Gateway, "allocations", args);
    }
}
