using System.Text;
using static FastProxy.Tests.Gateway.JwtHarness;

namespace FastProxy.Tests.Gateway;

/// <summary>Verified tokens are remembered by signature: a repeated token is not verified again, and nothing else rides on its signature.</summary>
public sealed class JwtCacheTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-jwt-cache-");
    private readonly ManualTime _time = new(Now);
    private readonly TestKey _key = TestKey.Rsa("k1");

    public JwtCacheTests() => File.WriteAllText(Path.Combine(_dir.FullName, "k.pem"), _key.PublicPem());

    public void Dispose() => _dir.Delete(recursive: true);

    private Policies.Types.Jwt.JwtPolicy Policy(string extra = "") => Build($"""
        [policies.auth]
        type = "jwt"
        keys = ["k.pem"]
        claims_to_headers = {"{"} sub = "x-user" {"}"}
        {extra}
        """, _dir.FullName, _time);

    private string Token(string sub) => _key.Sign(TestKey.Payload(sub, Now.AddHours(1).ToUnixTimeSeconds()));

    [Fact]
    public void The_same_token_twice_verifies_the_signature_once()
    {
        var policy = Policy();
        var token = Token("alice");

        var first = Bearer(token);
        var second = Bearer(token);
        Assert.Null(Run(policy, first));
        Assert.Null(Run(policy, second));

        Assert.Equal(1, policy.SignatureChecks);
        // The hit gives the request everything the first verification did.
        Assert.Equal("x-user: alice\r\n", RequestLines(second));
        Assert.Same(first.Claims, second.Claims);
    }

    [Fact]
    public void Without_a_cache_every_request_verifies()
    {
        var policy = Policy("cache_size = 0");
        var token = Token("alice");

        for (int i = 0; i < 3; i++) Assert.Null(Run(policy, Bearer(token)));

        Assert.Equal(3, policy.SignatureChecks);
    }

    [Fact]
    public void A_cached_signature_with_another_payload_is_not_a_hit()
    {
        var policy = Policy();
        var token = Token("alice");
        Assert.Null(Run(policy, Bearer(token)));

        var parts = token.Split('.');
        var forged = parts[0] + "." + TestKey.B64(Encoding.UTF8.GetBytes(TestKey.Payload("admin", Now.AddHours(1).ToUnixTimeSeconds()))) + "." + parts[2];
        var answer = Run(policy, Bearer(forged));

        Assert.NotNull(answer);
        Assert.Equal(Invalid("the token's signature is invalid"), Challenge(answer));
        Assert.Equal(2, policy.SignatureChecks);
    }

    [Fact]
    public void Many_tokens_stay_within_the_cache_size()
    {
        var policy = Policy("cache_size = 4");
        var tokens = Enumerable.Range(0, 64).Select(i => Token("user" + i)).ToList();

        foreach (var token in tokens) Assert.Null(Run(policy, Bearer(token)));
        foreach (var token in tokens) Assert.Null(Run(policy, Bearer(token)));

        // 4 slots cannot hold 64 tokens: most of the second round verifies again, and every answer is still right.
        Assert.True(policy.SignatureChecks > 64 + 32, $"{policy.SignatureChecks} signature checks");
    }
}
