using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A route with api_key, basic_auth (a bcrypt user, remembered after its first check) and authorize allocates nothing
/// per request on the real request path, HTTP/1.1 (wrk) and HTTP/2 (h2load): the key hashed and looked up, the
/// password's HMAC looked up, the group checked, the credentials dropped and x-consumer / x-consumer-groups added.
/// Measured by the allocation probe as the other allocation tests are (the difference between a short and a long
/// run), best of three.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class AuthnAllocationTests : IDisposable
{
    private readonly string _dir = TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<Dictionary<string, string>> GatewayAsync()
    {
        var users = Path.Combine(_dir, "users");
        File.WriteAllText(users, await HtpasswdLineAsync("alice", "correct horse", bcrypt: true) + "\n");
        return new()
        {
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"keys\", \"login\", \"admins\"]",
            ["FASTPROXY_PROBE_GATEWAY"] = $$"""
                [consumers.alice]
                api_keys = ["sha256:{{AliceDigest}}"]
                groups = ["gold", "admin"]
                [policies.keys]
                type = "api_key"
                [policies.login]
                type = "basic_auth"
                htpasswd = "{{users}}"
                [policies.admins]
                type = "authorize"
                groups = ["admin"]
                """,
            ["FASTPROXY_PROBE_HEADERS"] = $"X-Api-Key: {AliceKey}\n{Basic("alice", "correct horse")}",
        };
    }

    [Theory]
    [InlineData("--wrk", "16", "6")]
    [InlineData("--h2load", "4", "8", "6")]
    public async Task Authenticated_requests_allocate_nothing_in_steady_state(params string[] args)
    {
        var gateway = await GatewayAsync();
        await AllocationTests.AssertBestOfThreeAsync(gateway, "allocations", args);
    }
}
