using System.Net;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.Jwt;

namespace FastProxy.Benchmarks.Gateway;

/// <summary>
/// The jwt policy on one request carrying a bearer token (ES256 or RS256 with a 2048-bit key; claims_to_headers and
/// a consumer lookup on): <c>Cold</c> verifies the signature and reads the payload every time (cache_size = 0, what
/// a token's first sight costs, allocations included: its cache entry); <c>Cached</c> finds the token verified
/// before, which is what every later request with it costs and must allocate nothing. The request head is parsed
/// once; the context is reset per call as the connection does.
/// </summary>
[MemoryDiagnoser]
public class JwtBenchmarks
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-bench-jwt-");
    private JwtPolicy _cold = null!;
    private JwtPolicy _cached = null!;
    private RequestHead _head = null!;
    private byte[] _bytes = null!;
    private PolicyContext _context = null!;

    [Params("ES256", "RS256")]
    public string Algorithm { get; set; } = "ES256";

    [GlobalSetup]
    public void Setup()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var rsa = RSA.Create(2048);
        bool ec = Algorithm == "ES256";
        File.WriteAllText(Path.Combine(_dir.FullName, "key.pem"), ec ? ecdsa.ExportSubjectPublicKeyInfoPem() : rsa.ExportSubjectPublicKeyInfoPem());
        var toml = """
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }

            [consumers.alice]
            jwt_subject = "alice"

            [policies.cold]
            type = "jwt"
            keys = ["key.pem"]
            issuer = "https://idp.example"
            audiences = ["orders"]
            claims_to_headers = { sub = "x-user", roles = "x-roles" }
            cache_size = 0

            [policies.cached]
            type = "jwt"
            keys = ["key.pem"]
            issuer = "https://idp.example"
            audiences = ["orders"]
            claims_to_headers = { sub = "x-user", roles = "x-roles" }
            """;
        var result = ConfigLoader.Parse(toml, "bench.toml", _dir.FullName);
        if (!result.Success) throw new InvalidOperationException(string.Join("\n", result.Errors));
        var set = new PolicySet(result.Config, new NoHttp());
        _cold = (JwtPolicy)set.Policies.Single(p => p.Name == "cold");
        _cached = (JwtPolicy)set.Policies.Single(p => p.Name == "cached");

        long exp = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds();
        var input = B64($$"""{"alg":"{{Algorithm}}","typ":"JWT","kid":"k1"}""") + "." +
            B64($$"""{"iss":"https://idp.example","aud":"orders","sub":"alice","roles":["reader","writer"],"exp":{{exp}},"iat":{{exp - 3600}}}""");
        var data = Encoding.ASCII.GetBytes(input);
        var signature = ec ? ecdsa.SignData(data, HashAlgorithmName.SHA256) : rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var token = input + "." + B64(signature);

        _bytes = Encoding.ASCII.GetBytes($"GET /orders/42 HTTP/1.1\r\nHost: api.example\r\nAuthorization: Bearer {token}\r\nAccept: */*\r\n\r\n");
        _head = new RequestHead();
        if (RequestParser.Parse(_bytes, _head, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("request");
        _context = new PolicyContext();
        if (Cold() is not null || Cached() is not null || Cached() is not null) throw new InvalidOperationException("the token was refused");
    }

    [GlobalCleanup]
    public void Cleanup() => _dir.Delete(recursive: true);

    [Benchmark]
    public PolicyAnswer? Cold() => Run(_cold);

    [Benchmark]
    public PolicyAnswer? Cached() => Run(_cached);

    private PolicyAnswer? Run(JwtPolicy policy)
    {
        _context.Begin(_head, _bytes, default(IpValue), "127.0.0.1"u8, "api", secure: false);
        var pending = policy.OnRequestAsync(_context);
        return pending.IsCompletedSuccessfully ? pending.Result : throw new InvalidOperationException("went asynchronous");
    }

    private static string B64(string text) => B64(Encoding.UTF8.GetBytes(text));

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed class NoHttp : IOutboundHttp
    {
        public Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("no outbound calls in this benchmark");
    }
}
