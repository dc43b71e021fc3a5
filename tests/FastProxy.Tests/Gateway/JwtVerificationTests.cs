using System.Security.Cryptography;
using System.Text;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.Jwt;
using static FastProxy.Tests.Gateway.JwtHarness;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The jwt policy on its own, with keys from files and secrets: every algorithm family verifies its own tokens, and
/// each way a token can be wrong is refused with its RFC 6750 challenge and counted under its reason.
/// </summary>
public sealed class JwtVerificationTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly long Hour = 3600;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-jwt-");
    private readonly ManualTime _time = new(Now);

    public void Dispose() => _dir.Delete(recursive: true);

    private static long At(long offset) => Now.ToUnixTimeSeconds() + offset;

    private string Write(string name, string text)
    {
        File.WriteAllText(Path.Combine(_dir.FullName, name), text);
        return name;
    }

    private JwtPolicy Policy(string keys, string extra = "", string consumers = "") => Build($"""
        [policies.auth]
        type = "jwt"
        {keys}
        {extra}
        """, _dir.FullName, _time, consumers: consumers);

    [Theory]
    [InlineData("RS256")]
    [InlineData("RS384")]
    [InlineData("RS512")]
    [InlineData("PS256")]
    [InlineData("PS384")]
    [InlineData("PS512")]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("ES512")]
    [InlineData("EdDSA")]
    public void A_token_signed_by_a_key_file_is_accepted_and_a_tampered_one_refused(string alg)
    {
        var key = alg.StartsWith('E') && alg != "EdDSA" ? TestKey.Ec("k1", alg) : alg == "EdDSA" ? TestKey.Ed("k1") : TestKey.Rsa("k1", alg);
        // PEM for half of them, a JWK file for the other half: both are what issuers hand out.
        var file = alg.EndsWith("256", StringComparison.Ordinal) || alg == "EdDSA" ? Write("key.pem", key.PublicPem()) : Write("key.jwk", key.Jwk());
        var policy = Policy($"keys = [\"{file}\"]\nalgorithms = [\"{alg}\"]");
        var token = key.Sign(TestKey.Payload("alice", At(Hour)));

        Assert.Null(Run(policy, Bearer(token)));

        // One byte of the payload changed ("alice" -> "alicf"): the same signature no longer holds.
        var parts = token.Split('.');
        var tampered = parts[0] + "." + TestKey.B64(Encoding.UTF8.GetBytes(TestKey.Payload("alicf", At(Hour)))) + "." + parts[2];
        var answer = Run(policy, Bearer(tampered));
        Assert.NotNull(answer);
        Assert.Equal(401, answer.Status);
        Assert.Equal(Invalid("the token's signature is invalid"), Challenge(answer));
    }

    [Fact]
    public void Hmac_secret_from_the_environment_verifies_HS256_HS384_HS512()
    {
        var secret = RandomNumberGenerator.GetBytes(64);
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_JWT_SECRET", Convert.ToBase64String(secret));
        var text = Encoding.UTF8.GetBytes(Convert.ToBase64String(secret));
        var policy = Policy("secret = \"env:FASTPROXY_TEST_JWT_SECRET\"", "algorithms = [\"HS256\", \"HS384\", \"HS512\"]");
        foreach (var alg in new[] { "HS256", "HS384", "HS512" })
        {
            var token = TestKey.Hmac("", text, alg).Sign(TestKey.Payload("alice", At(Hour)));
            Assert.Null(Run(policy, Bearer(token)));
            var wrong = TestKey.Hmac("", RandomNumberGenerator.GetBytes(64), alg).Sign(TestKey.Payload("alice", At(Hour)));
            Assert.Equal(Invalid("the token's signature is invalid"), Challenge(Run(policy, Bearer(wrong))!));
        }
    }

    [Fact]
    public void No_token_is_a_bare_challenge_without_an_error_code()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]", "realm = \"orders\"");

        var answer = Run(policy, Request(""));

        Assert.NotNull(answer);
        Assert.Equal(401, answer.Status);
        // RFC 6750 §3.1: a request without credentials gets no error code.
        Assert.Equal("Bearer realm=\"orders\"", Challenge(answer));
        // Another scheme in Authorization is not a bearer token either.
        Assert.Equal("Bearer realm=\"orders\"", Challenge(Run(policy, Request("Authorization: Basic YWxpY2U6c2VjcmV0\r\n"))!));
    }

    [Fact]
    public void Expired_and_not_yet_valid_tokens_are_refused_beyond_the_clock_skew()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]", "clock_skew = \"30s\"");

        Assert.Equal(Invalid("the token has expired"), Challenge(Run(policy, Bearer(key.Sign(TestKey.Payload("a", At(-31)))))!));
        // Within the skew: still accepted.
        Assert.Null(Run(policy, Bearer(key.Sign(TestKey.Payload("a", At(-29))))));
        Assert.Equal(Invalid("the token is not valid yet"),
            Challenge(Run(policy, Bearer(key.Sign(TestKey.Payload("a", At(Hour), $"\"nbf\":{At(31)}"))))!));
        Assert.Null(Run(policy, Bearer(key.Sign(TestKey.Payload("a", At(Hour), $"\"nbf\":{At(29)}")))));
    }

    [Fact]
    public void A_cached_token_expires_on_time()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]", "clock_skew = \"0s\"");
        var token = key.Sign(TestKey.Payload("a", At(10)));

        Assert.Null(Run(policy, Bearer(token)));
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(Invalid("the token has expired"), Challenge(Run(policy, Bearer(token))!));
        Assert.Equal(1, policy.SignatureChecks);
    }

    [Fact]
    public void Wrong_issuer_or_audience_is_refused_and_an_audience_list_needs_one_match()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]", """
            issuer = "https://idp.example"
            audiences = ["orders", "billing"]
            """);
        string Token(string iss, string aud) => key.Sign(TestKey.Payload("a", At(Hour), $"\"iss\":\"{iss}\",\"aud\":{aud}"));

        Assert.Null(Run(policy, Bearer(Token("https://idp.example", "\"orders\""))));
        Assert.Null(Run(policy, Bearer(Token("https://idp.example", "[\"other\",\"billing\"]"))));
        Assert.Equal(Invalid("the token's issuer is not accepted"), Challenge(Run(policy, Bearer(Token("https://evil.example", "\"orders\"")))!));
        Assert.Equal(Invalid("the token's audience is not accepted"), Challenge(Run(policy, Bearer(Token("https://idp.example", "[\"other\"]")))!));
        Assert.Equal(Invalid("the token's audience is not accepted"),
            Challenge(Run(policy, Bearer(key.Sign(TestKey.Payload("a", At(Hour), "\"iss\":\"https://idp.example\""))))!));
    }

    [Fact]
    public void Alg_none_is_refused_even_with_an_empty_signature()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]");
        var header = TestKey.B64("""{"alg":"none","typ":"JWT"}"""u8);
        var payload = TestKey.B64(Encoding.UTF8.GetBytes(TestKey.Payload("admin", At(Hour))));

        var unsigned = Run(policy, Bearer($"{header}.{payload}."))!;
        var withSignature = Run(policy, Bearer($"{header}.{payload}.{TestKey.B64(new byte[64])}"))!;

        // Without a signature segment the token is malformed; with one, "none" is not an accepted algorithm.
        Assert.Equal(Invalid("the token is not a well-formed signed JWT"), Challenge(unsigned));
        Assert.Equal(Invalid("the token's signing algorithm is not accepted"), Challenge(withSignature));
    }

    [Fact]
    public void An_RS256_key_is_never_an_HMAC_secret_even_when_HS256_is_allowed()
    {
        var rsa = TestKey.Rsa("rsa-1");
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_JWT_OTHER", new string('s', 40));
        var rsOnly = Policy($"keys = [\"{Write("rsa.pem", rsa.PublicPem())}\"]");
        var both = Policy($"keys = [\"rsa.pem\"]\nsecret = \"env:FASTPROXY_TEST_JWT_OTHER\"", "algorithms = [\"RS256\", \"HS256\"]");
        var payload = TestKey.Payload("admin", At(Hour));
        // The classic confusion: the public key (as PEM text, or as DER) used as the HMAC secret.
        var withPem = TestKey.Hmac("rsa-1", Encoding.ASCII.GetBytes(rsa.PublicPem())).Sign(payload, "HS256");
        var withDer = TestKey.Hmac("rsa-1", rsa.PublicDer()).Sign(payload, "HS256");
        var withPemNoKid = TestKey.Hmac("", Encoding.ASCII.GetBytes(rsa.PublicPem())).Sign(payload, "HS256");

        Assert.Null(Run(rsOnly, Bearer(rsa.Sign(payload))));
        foreach (var forged in new[] { withPem, withDer, withPemNoKid })
        {
            // The allow-list (derived from the RSA key) has no HS256 ...
            Assert.Equal(Invalid("the token's signing algorithm is not accepted"), Challenge(Run(rsOnly, Bearer(forged))!));
            // ... and where HS256 is allowed, only the configured secret is tried, never the RSA key.
            var answer = Run(both, Bearer(forged))!;
            Assert.Equal(401, answer.Status);
            Assert.Contains("error=\"invalid_token\"", Challenge(answer), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_header_can_not_widen_the_allow_list()
    {
        var rsa = TestKey.Rsa("k1", "PS256");
        var policy = Policy($"keys = [\"{Write("k.jwk", rsa.Jwk(withAlg: false))}\"]", "algorithms = [\"PS256\"]");
        var payload = TestKey.Payload("a", At(Hour));

        Assert.Null(Run(policy, Bearer(rsa.Sign(payload, "PS256"))));
        // The same key signs RS256 just as well, but RS256 is not in this policy's list.
        Assert.Equal(Invalid("the token's signing algorithm is not accepted"), Challenge(Run(policy, Bearer(rsa.Sign(payload, "RS256")))!));
    }

    [Fact]
    public void A_key_whose_jwk_names_an_alg_verifies_only_that_alg()
    {
        var rsa = TestKey.Rsa("k1", "RS256");
        var policy = Policy($"keys = [\"{Write("k.jwk", rsa.Jwk())}\"]", "algorithms = [\"RS256\", \"RS512\"]");
        var payload = TestKey.Payload("a", At(Hour));

        Assert.Null(Run(policy, Bearer(rsa.Sign(payload, "RS256"))));
        Assert.Equal(Invalid("no known key matches the token"), Challenge(Run(policy, Bearer(rsa.Sign(payload, "RS512")))!));
    }

    [Fact]
    public void A_100_KB_token_is_refused_by_its_size_before_any_decoding()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]");
        // Not even base64url: were it decoded, the answer would say malformed.
        var huge = new string('!', 100 * 1024);

        var answer = Run(policy, Bearer(huge))!;

        Assert.Equal(Invalid("the token is larger than this API accepts"), Challenge(answer));
        Assert.Equal("too_large", answer.Counter.Reason);
        Assert.Equal(0, policy.SignatureChecks);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c.d")]
    [InlineData("a.b.c.d.e")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.e30.!!!")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9=.e30.AAAA")]
    [InlineData("e30.e30.AAAA")]
    [InlineData("bm90IGpzb24.e30.AAAA")]
    public void Malformed_tokens_are_refused_as_such(string token)
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]");

        var answer = Run(policy, Bearer(token))!;

        Assert.Equal(401, answer.Status);
        var challenge = Challenge(answer);
        // "e30" is {} (no alg): an algorithm problem; everything else here is malformed.
        Assert.Equal(token.StartsWith("e30", StringComparison.Ordinal)
            ? Invalid("the token's signing algorithm is not accepted")
            : Invalid("the token is not a well-formed signed JWT"), challenge);
        Assert.Equal(0, policy.SignatureChecks);
    }

    [Fact]
    public void Bad_base64_in_the_payload_of_a_correctly_signed_token_is_malformed()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]");
        var header = TestKey.B64("""{"alg":"ES256","kid":"k1"}"""u8);
        var input = header + ".e30xe"; // 4n+1 characters: not base64url of anything
        var token = input + "." + TestKey.B64(key.SignBytes("ES256", Encoding.ASCII.GetBytes(input)));

        Assert.Equal(Invalid("the token is not a well-formed signed JWT"), Challenge(Run(policy, Bearer(token))!));
    }

    [Fact]
    public void Repeated_claims_and_crit_headers_are_refused()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]");

        var duplicate = key.Sign($"{{\"sub\":\"alice\",\"sub\":\"admin\",\"exp\":{At(Hour)}}}");
        var crit = key.Sign(TestKey.Payload("a", At(Hour)), header: """{"alg":"ES256","kid":"k1","crit":["exp"],"exp":1}""");

        Assert.Equal(Invalid("the token is not a well-formed signed JWT"), Challenge(Run(policy, Bearer(duplicate))!));
        Assert.Equal(Invalid("the token is not a well-formed signed JWT"), Challenge(Run(policy, Bearer(crit))!));
    }

    [Fact]
    public void A_token_without_exp_is_refused_unless_required_claims_says_otherwise()
    {
        var key = TestKey.Ec("k1");
        var strict = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]", "required_claims = [\"exp\", \"email\"]");
        var lenient = Policy("keys = [\"k.pem\"]", "required_claims = []");
        var token = key.Sign("{\"sub\":\"a\"}");

        Assert.Equal(Invalid("the token lacks the required claim exp"), Challenge(Run(strict, Bearer(token))!));
        Assert.Equal(Invalid("the token lacks the required claim email"), Challenge(Run(strict, Bearer(key.Sign(TestKey.Payload("a", At(Hour)))))!));
        Assert.Null(Run(lenient, Bearer(token)));
    }

    [Fact]
    public void Every_refusal_is_counted_under_its_reason()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]");

        var reasons = new[]
        {
            Run(policy, Request(""))!,
            Run(policy, Bearer("a.b"))!,
            Run(policy, Bearer(key.Sign(TestKey.Payload("a", At(-Hour)))))!,
            Run(policy, Bearer(TestKey.Ec("k1").Sign(TestKey.Payload("a", At(Hour)))))!,
        }.Select(a => (a.Counter.Policy, a.Counter.Type, a.Counter.Reason));

        Assert.Equal([("auth", "jwt", "missing"), ("auth", "jwt", "malformed"), ("auth", "jwt", "expired"), ("auth", "jwt", "signature")], reasons);
    }

    [Fact]
    public void Claims_reach_headers_and_IClaims_and_the_consumer_is_found()
    {
        var key = TestKey.Ec("k1");
        var policy = Policy($"keys = [\"{Write("k.pem", key.PublicPem())}\"]", """
            claims_to_headers = { sub = "x-user", roles = "x-roles", "org.id" = "x-org", level = "x-level", evil = "x-evil", absent = "x-absent" }
            """, consumers: """
            [consumers.alice]
            jwt_subject = "alice@example.com"
            groups = ["gold"]
            """);
        var token = key.Sign(TestKey.Payload("alice@example.com", At(Hour),
            "\"roles\":[\"admin\",\"ops\",7],\"org\":{\"id\":\"acme\"},\"level\":3.5,\"evil\":\"x\\r\\nInjected: 1\",\"scope\":\"read write\""));
        // A client-sent field with a claim header's name never reaches the upstream, even when the claim is absent.
        var context = Request($"Authorization: Bearer {token}\r\nX-Absent: forged\r\nX-User: mallory\r\n");

        Assert.Null(Run(policy, context));

        Assert.Equal("x-user: alice@example.com\r\nx-roles: admin,ops,7\r\nx-org: acme\r\nx-level: 3.5\r\n", RequestLines(context));
        Assert.Equal(3, context.RemovedHeaders.Length); // Authorization, X-Absent, X-User
        Assert.Equal("alice", context.Consumer?.Name);
        var claims = context.Claims!;
        Assert.True(claims.Contains("roles"u8, "ops"u8));
        Assert.True(claims.Contains("roles"u8, "7"u8));
        Assert.False(claims.Contains("roles"u8, "root"u8));
        Assert.True(claims.Contains("scope"u8, "write"u8));
        Assert.True(claims.TryGetText("org.id"u8, out var org) && org.SequenceEqual("acme"u8));
        Assert.True(claims.TryGetText("level"u8, out var level) && level.SequenceEqual("3.5"u8));
    }

    [Fact]
    public void The_token_is_removed_from_header_query_and_cookie_unless_forward_token()
    {
        var key = TestKey.Ec("k1");
        Write("k.pem", key.PublicPem());
        var policy = Policy("keys = [\"k.pem\"]", "from = [\"header:x-token\", \"cookie:session\", \"query:access_token\"]");
        var forwarding = Policy("keys = [\"k.pem\"]", "from = [\"cookie:session\"]\nforward_token = true");
        var token = key.Sign(TestKey.Payload("a", At(Hour)));

        var header = Request($"X-Token: {token}\r\n");
        Assert.Null(Run(policy, header));
        Assert.Equal([1], header.RemovedHeaders.ToArray()); // Host is field 0, X-Token field 1

        var cookie = Request($"Cookie: theme=dark; session={token}; lang=en\r\n");
        Assert.Null(Run(policy, cookie));
        Assert.Equal([1], cookie.RemovedHeaders.ToArray());
        Assert.Equal("cookie: theme=dark; lang=en\r\n", RequestLines(cookie));

        var query = Request("", $"/api?a=1&access_token={token}&b=2");
        Assert.Null(Run(policy, query));
        var edited = new byte[query.Query.Length];
        Assert.Equal("a=1&b=2", Encoding.ASCII.GetString(edited, 0, query.CopyEditedQuery(edited)));

        var kept = Request($"Cookie: session={token}\r\n");
        Assert.Null(Run(forwarding, kept));
        Assert.Equal(0, kept.RemovedHeaders.Length);
        Assert.False(kept.HasRequestEdits);
    }

    [Fact]
    public void No_other_token_rides_along_with_the_verified_one()
    {
        var key = TestKey.Ec("k1");
        Write("k.pem", key.PublicPem());
        var policy = Policy("keys = [\"k.pem\"]", "from = [\"header:authorization\", \"query:access_token\", \"cookie:session\"]");
        var forwarding = Policy("keys = [\"k.pem\"]", "forward_token = true");
        var token = key.Sign(TestKey.Payload("a", At(Hour)));
        var unchecked_ = TestKey.B64("""{"alg":"none"}"""u8) + "." + TestKey.B64("""{"sub":"admin"}"""u8) + ".";

        // A second Bearer field, a query token and a cookie token besides the verified one: none goes on.
        var context = Request($"Authorization: Bearer {token}\r\nAuthorization: Bearer {unchecked_}\r\nCookie: session={unchecked_}; lang=en\r\n",
            $"/api?access_token={unchecked_}&page=1");
        Assert.Null(Run(policy, context));
        Assert.Equal([1, 2, 3], context.RemovedHeaders.ToArray());
        Assert.Equal("cookie: lang=en\r\n", RequestLines(context));
        var edited = new byte[context.Query.Length];
        Assert.Equal("page=1", Encoding.ASCII.GetString(edited, 0, context.CopyEditedQuery(edited)));

        // forward_token: the verified token goes on, the other Bearer field does not; another scheme is not a token.
        var forwarded = Request($"Authorization: Bearer {token}\r\nAuthorization: Bearer {unchecked_}\r\nAuthorization: Basic YTpi\r\n");
        Assert.Null(Run(forwarding, forwarded));
        Assert.Equal([2], forwarded.RemovedHeaders.ToArray());
    }
}
