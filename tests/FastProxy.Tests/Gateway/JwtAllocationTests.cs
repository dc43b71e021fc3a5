using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A route behind a jwt policy allocates nothing per request once a client's token is verified: the allocation probe
/// (tests/FastProxy.AllocationProbe) with the policy on its route and wrk / h2load sending the same bearer token on
/// every request, as a client holding one access token does. A refused request would fail the probe (it checks
/// every answer), so these also show the token passes all along.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class JwtAllocationTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-jwt-alloc-");

    public void Dispose() => _dir.Delete(recursive: true);

    private Dictionary<string, string> Environment()
    {
        var key = TestKey.Ec("k1");
        var file = Path.Combine(_dir.FullName, "issuer.pem");
        File.WriteAllText(file, key.PublicPem());
        var token = key.Sign(TestKey.Payload("alice", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(), "\"iss\":\"https://idp.test\",\"aud\":\"orders\",\"roles\":[\"a\",\"b\"]"));
        return new()
        {
            ["FASTPROXY_PROBE_GATEWAY"] = $$"""
                [consumers.alice]
                jwt_subject = "alice"
                groups = ["gold"]

                [policies.auth]
                type = "jwt"
                keys = ["{{file}}"]
                issuer = "https://idp.test"
                audiences = ["orders"]
                claims_to_headers = { sub = "x-user", roles = "x-roles" }
                """,
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"auth\"]",
            ["FASTPROXY_PROBE_HEADERS"] = $"Authorization: Bearer {token}",
        };
    }

    [Fact]
    public async Task Http1_requests_with_a_verified_token_allocate_nothing()
    {
        await AllocationTests.AssertBestOfThreeAsync(Environment(), "allocations", ["--wrk", "64", "6"]);
    }

    [Fact]
    public async Task Http2_streams_with_a_verified_token_allocate_nothing()
    {
        await AllocationTests.AssertBestOfThreeAsync(Environment(), "HTTP/2 allocations", ["--h2load", "4", "8", "6"]);
    }
}
