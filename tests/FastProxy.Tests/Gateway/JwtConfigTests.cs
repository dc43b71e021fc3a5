using System.Security.Cryptography;
using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "jwt" as `fastproxy check` sees it: key files read at load, file:line:col errors naming the key.</summary>
public sealed class JwtConfigTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-jwt-config-");

    public void Dispose() => _dir.Delete(recursive: true);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_dir.FullName, name), text);

    // The policy table is on line 8 (after ConfigText.Minimal and a blank line); its keys follow from line 10.
    private static string Config(string keys) => ConfigText.Minimal + "\n\n[policies.auth]\ntype = \"jwt\"\n" + keys;

    private string Error(string keys) => ConfigText.Error(Config(keys), _dir.FullName);

    private JwtOptions Load(string keys) => (JwtOptions)ConfigText.Load(Config(keys), _dir.FullName).Policies.Single().Options!;

    [Fact]
    public void Defaults_follow_the_keys()
    {
        Write("ec.pem", TestKey.Ec("k").PublicPem());

        var options = Load("keys = [\"ec.pem\"]");

        Assert.Equal([JwtAlgorithm.ES256], options.Algorithms);
        Assert.Equal(TimeSpan.FromSeconds(60), options.ClockSkew);
        Assert.Equal("sub", options.ConsumerClaim);
        Assert.Equal([new JwtTokenSource(JwtTokenSourceKind.Header, "authorization")], options.From);
        Assert.False(options.ForwardToken);
        Assert.Equal(["exp"], options.RequiredClaims);
        Assert.Equal(16 * 1024, options.MaxTokenSize);
        Assert.Equal(1024, options.CacheSize);
        Assert.Null(options.Realm);
        var key = Assert.Single(options.Keys);
        Assert.Equal(JwtKeyType.EllipticCurve, key.Type);
    }

    [Fact]
    public void A_jwks_url_allows_every_asymmetric_algorithm_and_never_HS()
    {
        var options = Load("jwks_url = \"https://idp.example/.well-known/jwks.json\"\nissuer = [\"https://a.example\", \"https://b.example\"]");

        Assert.Equal(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"],
            options.Algorithms.Select(a => a.ToString()));
        Assert.Equal(["https://a.example", "https://b.example"], options.Issuers);
    }

    [Fact]
    public void None_is_refused_with_its_reason()
    {
        Assert.Equal("proxy.toml:11:24: policies.auth.algorithms[1]: \"none\" (an unsigned token) is never accepted",
            Error("jwks_url = \"https://idp.example/jwks\"\nalgorithms = [\"RS256\", \"none\"]"));
    }

    [Fact]
    public void An_algorithm_in_the_wrong_case_is_named()
    {
        Assert.Equal("proxy.toml:11:15: policies.auth.algorithms[0]: unknown algorithm \"rs256\" (did you mean \"RS256\"?)",
            Error("jwks_url = \"https://idp.example/jwks\"\nalgorithms = [\"rs256\"]"));
    }

    [Fact]
    public void HS256_without_a_secret_is_an_error()
    {
        Assert.Equal("proxy.toml:11:15: policies.auth.algorithms[0]: HS256 needs a secret (secret = \"env:NAME\", or an \"oct\" JWK file in keys); secrets from jwks_url are not used",
            Error("jwks_url = \"https://idp.example/jwks\"\nalgorithms = [\"HS256\"]"));
    }

    [Fact]
    public void A_secret_in_clear_is_refused_without_being_echoed()
    {
        var error = Error("secret = \"my-very-secret-hmac-key-0123456789abcdef\"");

        Assert.Equal("proxy.toml:10:10: policies.auth.secret: an HMAC secret is written \"env:NAME\" (read from the environment) or \"file:PATH\"; a secret in clear is not accepted", error);
        Assert.DoesNotContain("my-very-secret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_secret_is_refused_and_a_file_secret_loses_its_newline()
    {
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_SHORT_SECRET", "short");
        Assert.Equal("proxy.toml:10:10: policies.auth.secret: an HMAC secret must be at least 32 bytes (RFC 7518 §3.2), this one is 5",
            Error("secret = \"env:FASTPROXY_TEST_SHORT_SECRET\""));

        Write("secret.txt", new string('k', 48) + "\n");
        var options = Load("secret = \"file:secret.txt\"");
        Assert.Equal(48, Assert.Single(options.Keys).Secret.Length);
        Assert.Equal([JwtAlgorithm.HS256, JwtAlgorithm.HS384], options.Algorithms);
    }

    [Fact]
    public void A_policy_without_keys_is_an_error()
    {
        Assert.Equal("proxy.toml:8:1: policies.auth: a jwt policy needs its keys: jwks_url, keys (PEM or JWK files) or secret (an HMAC secret)",
            Error("issuer = \"https://idp.example\""));
    }

    [Fact]
    public void Key_files_are_checked_at_load()
    {
        using var rsa1024 = RSA.Create(1024);
        Write("small.pem", rsa1024.ExportSubjectPublicKeyInfoPem());
        Write("private.pem", TestKey.Ec("k").PrivatePem());
        Write("text.txt", "hello");
        Write("enc.jwk", "{\"kty\":\"RSA\",\"use\":\"enc\",\"n\":\"AQAB\",\"e\":\"AQAB\"}");

        Assert.Equal("proxy.toml:10:9: policies.auth.keys[0]: small.pem: an RSA key of 1024 bits; at least 2048 are required", Error("keys = [\"small.pem\"]"));
        Assert.Equal("proxy.toml:10:9: policies.auth.keys[0]: private.pem: a private key; give the public key instead (openssl pkey -in KEY -pubout)",
            Error("keys = [\"private.pem\"]"));
        Assert.Equal("proxy.toml:10:9: policies.auth.keys[0]: text.txt: no PEM block and not JSON: expected a PEM public key, certificate, JWK or JWK Set",
            Error("keys = [\"text.txt\"]"));
        Assert.Equal("proxy.toml:10:9: policies.auth.keys[0]: enc.jwk: \"use\" is \"enc\", not \"sig\": left out", Error("keys = [\"enc.jwk\"]"));
        Assert.StartsWith("proxy.toml:10:9: policies.auth.keys[0]: file not found: ", Error("keys = [\"missing.pem\"]"), StringComparison.Ordinal);
        Write("garbage.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
        Assert.Equal("proxy.toml:10:9: policies.auth.keys[0]: garbage.pem: PEM \"PUBLIC KEY\" could not be read as a key", Error("keys = [\"garbage.pem\"]"));
    }

    [Fact]
    public void A_jwk_file_saved_with_a_byte_order_mark_is_read()
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "bom.jwk"), TestKey.Ed("e1").Jwk(), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        Assert.Equal("e1", Assert.Single(Load("keys = [\"bom.jwk\"]").Keys).Kid);
    }

    [Fact]
    public void Certificates_and_jwk_sets_give_their_keys()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=issuer", ec, HashAlgorithmName.SHA384);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        Write("issuer.crt", certificate.ExportCertificatePem());
        Write("set.json", TestKey.Jwks(TestKey.Rsa("r1"), TestKey.Ed("e1")));

        var options = Load("keys = [\"issuer.crt\", \"set.json\"]");

        Assert.Equal([JwtKeyType.EllipticCurve, JwtKeyType.Rsa, JwtKeyType.Ed25519], options.Keys.Select(k => k.Type));
        Assert.Equal([null, "r1", "e1"], options.Keys.Select(k => k.Kid));
        // The JWKs name their alg: the allow-list is what the keys can verify.
        Assert.Equal([JwtAlgorithm.RS256, JwtAlgorithm.ES384, JwtAlgorithm.EdDSA], options.Algorithms);
    }

    [Fact]
    public void Claims_may_not_be_copied_to_headers_the_proxy_owns()
    {
        Assert.Equal("proxy.toml:11:29: policies.auth.claims_to_headers.sub: x-consumer is set by the proxy",
            Error("jwks_url = \"https://idp.example/jwks\"\nclaims_to_headers = { sub = \"x-consumer\" }"));
        Assert.Equal("proxy.toml:11:30: policies.auth.claims_to_headers.name: invalid header name \"x user\": expected letters, digits and !#$%&'*+-.^_`|~",
            Error("jwks_url = \"https://idp.example/jwks\"\nclaims_to_headers = { name = \"x user\" }"));
    }

    [Fact]
    public void Token_sources_are_checked()
    {
        Assert.Equal("proxy.toml:11:33: policies.auth.from[1]: expected \"header:NAME\", \"cookie:NAME\" or \"query:NAME\", got \"body:token\"",
            Error("jwks_url = \"https://idp.example/jwks\"\nfrom = [\"header:authorization\", \"body:token\"]"));
        var options = Load("jwks_url = \"https://idp.example/jwks\"\nfrom = [\"header:X-Token\", \"cookie:session\", \"query:access_token\"]");
        Assert.Equal([new(JwtTokenSourceKind.Header, "x-token"), new(JwtTokenSourceKind.Cookie, "session"), new JwtTokenSource(JwtTokenSourceKind.Query, "access_token")],
            options.From);
    }

    [Fact]
    public void A_jwks_url_over_plain_http_to_another_host_is_a_warning()
    {
        var result = ConfigText.Parse(Config("jwks_url = \"http://idp.example/jwks\""));

        Assert.True(result.Success);
        Assert.Equal("proxy.toml:10:12: policies.auth.jwks_url: keys fetched over plain http can be replaced by anyone on the path: use https",
            Assert.Single(result.Warnings).ToString());
    }

    [Fact]
    public void A_realm_that_would_break_the_challenge_is_refused()
    {
        Assert.Equal("proxy.toml:11:9: policies.auth.realm: must be printable ASCII without '\"' or '\\' (it is sent in WWW-Authenticate)",
            Error("jwks_url = \"https://idp.example/jwks\"\nrealm = \"a\\\"b\""));
    }
}
