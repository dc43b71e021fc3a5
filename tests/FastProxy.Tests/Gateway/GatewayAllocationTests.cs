using System.Security.Cryptography;
using System.Text;
using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A route with gateway policies allocates nothing per request in steady state either: ip_filter, api_key (the key
/// hashed on the stack, the consumer found by digest), the consumer's headers, a response header, and a JWT seen before
/// (its verification cached by signature). Measured like the plain path (tests/FastProxy.AllocationProbe, wrk and
/// h2load as clients), so a policy that allocates per request fails here.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class GatewayAllocationTests
{
    private const string ApiKey = "probe-key-0123456789";

    [Fact]
    public async Task Ip_filter_api_key_and_headers_allocate_nothing_over_http1()
        => await AssertAllocatesNothingAsync(Environment(jwt: null), "--wrk", "64", "6");

    // Over HTTP/2 the same chain still allocates (about 350 B per stream) when a policy adds response lines: such a
    // response takes the pump rather than the direct answer. Known gap, noted in the closing note of 2026-12-07;
    // AuthnAllocationTests proves a chain without response lines allocates nothing over HTTP/2.

    [Fact]
    public async Task A_cached_jwt_allocates_nothing()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string pem = Path.Combine(Path.GetTempPath(), $"fastproxy-probe-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(pem, key.ExportSubjectPublicKeyInfoPem());
        try
        {
            await AssertAllocatesNothingAsync(Environment((pem, Es256Token(key))), "--wrk", "64", "6");
        }
        finally
        {
            File.Delete(pem);
        }
    }

    private static async Task AssertAllocatesNothingAsync(Dictionary<string, string> environment, params string[] args)
    {
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
        Assert.Fail("allocations through the policy chain in every run: " + string.Join("; ", runs));
    }

    private static Dictionary<string, string> Environment((string Pem, string Token)? jwt)
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
        string policies = "[\"ips\", \"keys\", \"stamp\"]";
        string headers = $"x-api-key: {ApiKey}";
        if (jwt is { } j)
        {
            gateway.Append($$"""
                [policies.token]
                type = "jwt"
                keys = ["{{j.Pem}}"]
                algorithms = ["ES256"]

                """);
            policies = "[\"ips\", \"token\", \"stamp\"]";
            headers = $"authorization: Bearer {j.Token}";
        }
        return new Dictionary<string, string>
        {
            ["FASTPROXY_PROBE_GATEWAY"] = gateway.ToString(),
            ["FASTPROXY_PROBE_ROUTE_POLICIES"] = policies,
            ["FASTPROXY_PROBE_HEADERS"] = headers,
        };
    }

    /// <summary>An ES256 token for subject "probe", valid for an hour.</summary>
    private static string Es256Token(ECDsa key)
    {
        static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = B64(Encoding.UTF8.GetBytes("{\"alg\":\"ES256\",\"typ\":\"JWT\"}"));
        string payload = B64(Encoding.UTF8.GetBytes($"{{\"sub\":\"probe\",\"iat\":{now},\"exp\":{now + 3600}}}"));
        byte[] signature = key.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return $"{header}.{payload}.{B64(signature)}";
    }
}
