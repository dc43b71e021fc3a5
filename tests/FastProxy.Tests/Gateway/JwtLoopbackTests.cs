using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The jwt policy in the proxy, end to end: curl over HTTP/1.1 and h2c (prior knowledge) against a real proxy in
/// front of a counting origin. Refused requests never reach the origin; accepted ones arrive with the claim headers
/// and the consumer, without the token; a reload changes the policy; a JWKS is fetched by the proxy's own client.
/// </summary>
public sealed class JwtLoopbackTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-jwt-loopback-");
    private readonly TestKey _key = TestKey.Ec("k1");

    public JwtLoopbackTests() => File.WriteAllText(KeyFile, _key.PublicPem());

    public void Dispose() => _dir.Delete(recursive: true);

    private string KeyFile => Path.Combine(_dir.FullName, "issuer.pem");

    private string Config(int upstream, string policy = "", string bind = "127.0.0.1:0") => $$"""
        [[listeners]]
        name = "web"
        bind = "{{bind}}"

        [[routes]]
        name = "api"
        upstream = "app"
        policies = ["auth"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstream}}"]

        [consumers.alice]
        jwt_subject = "alice"
        groups = ["gold"]

        [policies.auth]
        type = "jwt"
        keys = ["{{KeyFile}}"]
        issuer = "https://idp.test"
        claims_to_headers = { sub = "x-user", roles = "x-roles" }
        {{policy}}
        """;

    private string Token(string sub = "alice", long? exp = null, string iss = "https://idp.test") =>
        _key.Sign(TestKey.Payload(sub, exp ?? DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(), $"\"iss\":\"{iss}\",\"roles\":[\"reader\",\"writer\"]"));

    private static string[] Protocol(bool h2) => h2 ? ["--http2-prior-knowledge"] : ["--http1.1"];

    /// <summary>curl -i; the status line's code, and the whole answer.</summary>
    private static async Task<(int Status, string Answer)> CurlAsync(bool h2, int port, params string[] args)
    {
        var r = await Processes.CurlAsync([.. Protocol(h2), "-i", .. args, $"http://127.0.0.1:{port}/orders"]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var status = int.Parse(r.StdOut.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        return (status, r.StdOut);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_valid_token_passes_with_its_claims_and_without_itself(bool h2)
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("from origin"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var (status, answer) = await CurlAsync(h2, proxy.Port(), "-H", $"Authorization: Bearer {Token()}", "-H", "X-User: mallory", "-H", "X-Consumer: root");

        Assert.Equal(200, status);
        Assert.EndsWith("from origin", answer, StringComparison.Ordinal);
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("alice", seen.Header("x-user"));
        Assert.Equal("reader,writer", seen.Header("x-roles"));
        Assert.Equal("alice", seen.Header("x-consumer"));
        Assert.Equal("gold", seen.Header("x-consumer-groups"));
        Assert.Null(seen.Header("authorization"));
        Assert.Single(seen.HeaderLines, l => l.StartsWith("x-user:", StringComparison.OrdinalIgnoreCase));
        Assert.Single(seen.HeaderLines, l => l.StartsWith("x-consumer:", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Refused_tokens_get_their_challenge_and_nothing_reaches_the_origin(bool h2)
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("from origin"));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        var expired = Token(exp: DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds());
        var otherIssuer = Token(iss: "https://evil.test");
        var parts = Token().Split('.');
        var tampered = parts[0] + "." + TestKey.B64(System.Text.Encoding.UTF8.GetBytes(TestKey.Payload("admin", null, "\"iss\":\"https://idp.test\""))) + "." + parts[2];

        var cases = new (string[] Args, string Challenge)[]
        {
            ([], "Bearer realm=\"auth\""),
            (["-H", $"Authorization: Bearer {expired}"], JwtHarness.Invalid("the token has expired")),
            (["-H", $"Authorization: Bearer {otherIssuer}"], JwtHarness.Invalid("the token's issuer is not accepted")),
            (["-H", $"Authorization: Bearer {tampered}"], JwtHarness.Invalid("the token's signature is invalid")),
            (["-H", "Authorization: Bearer not.a.token"], JwtHarness.Invalid("the token is not a well-formed signed JWT")),
        };
        foreach (var (args, challenge) in cases)
        {
            var (status, answer) = await CurlAsync(h2, proxy.Port(), args);
            Assert.Equal(401, status);
            Assert.Contains($"www-authenticate: {challenge}\r\n", answer, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Empty(origin.Requests);
        Assert.Equal(0, origin.Connections);
    }

    [Fact]
    public async Task Forward_token_sends_the_token_on_and_a_query_token_is_cut_from_the_target_otherwise()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(origin.Port, "from = [\"header:authorization\", \"query:access_token\"]"));
        var token = Token();

        var r = await Processes.CurlAsync("-w", "%{http_code}", $"http://127.0.0.1:{proxy.Port()}/orders?page=2&access_token={token}&sort=asc");
        Assert.Equal("ok200", r.StdOut);
        Assert.Equal("GET /orders?page=2&sort=asc HTTP/1.1", Assert.Single(origin.Requests).RequestLine);

        proxy.Reload(Config(origin.Port, "forward_token = true"));
        r = await Processes.CurlAsync("-w", "%{http_code}", "-H", $"Authorization: Bearer {token}", $"http://127.0.0.1:{proxy.Port()}/orders");
        Assert.Equal("ok200", r.StdOut);
        Assert.Equal($"Bearer {token}", origin.Requests[1].Header("authorization"));
    }

    [Fact]
    public async Task A_reload_changes_the_accepted_issuer()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config(origin.Port));
        var token = Token(iss: "https://new-idp.test");

        Assert.Equal(401, (await CurlAsync(false, proxy.Port(), "-H", $"Authorization: Bearer {token}")).Status);
        proxy.Reload(Config(origin.Port).Replace("issuer = \"https://idp.test\"", "issuer = [\"https://idp.test\", \"https://new-idp.test\"]", StringComparison.Ordinal));

        Assert.Equal(200, (await CurlAsync(false, proxy.Port(), "-H", $"Authorization: Bearer {token}")).Status);
        Assert.Equal(200, (await CurlAsync(true, proxy.Port(), "-H", $"Authorization: Bearer {token}")).Status);
        Assert.Equal(2, origin.Requests.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Authorize_reads_the_verified_claims(bool h2)
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        var config = Config(origin.Port).Replace("policies = [\"auth\"]", "policies = [\"auth\", \"writers\"]", StringComparison.Ordinal) + """

            [policies.writers]
            type = "authorize"
            claims = { roles = "writer", scope = "orders:write" }
            """;
        await using var proxy = TestProxy.Start(config);
        long exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var writer = _key.Sign(TestKey.Payload("alice", exp, "\"iss\":\"https://idp.test\",\"roles\":[\"reader\",\"writer\"],\"scope\":\"orders:read orders:write\""));
        var reader = _key.Sign(TestKey.Payload("alice", exp, "\"iss\":\"https://idp.test\",\"roles\":[\"reader\"],\"scope\":\"orders:read orders:write\""));

        Assert.Equal(200, (await CurlAsync(h2, proxy.Port(), "-H", $"Authorization: Bearer {writer}")).Status);
        Assert.Equal(403, (await CurlAsync(h2, proxy.Port(), "-H", $"Authorization: Bearer {reader}")).Status);
        Assert.Single(origin.Requests);
    }

    [Fact]
    public async Task The_proxy_fetches_a_jwks_and_takes_a_rotated_key_after_one_more_fetch()
    {
        var first = TestKey.Rsa("rsa-1");
        var second = TestKey.Ed("ed-2");
        var document = TestKey.Jwks(first);
        int fetches = 0;
        await using var keys = await KestrelOrigin.StartAsync(app => app.MapGet("/jwks", context =>
        {
            Interlocked.Increment(ref fetches);
            return context.Response.WriteAsync(Volatile.Read(ref document));
        }));
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        var config = Config(origin.Port, $"jwks_min_interval = \"1s\"")
            .Replace($"keys = [\"{KeyFile}\"]", $"jwks_url = \"http://127.0.0.1:{keys.Port}/jwks\"", StringComparison.Ordinal);
        await using var proxy = TestProxy.Start(config);
        string Signed(TestKey key) => key.Sign(TestKey.Payload("alice", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(), "\"iss\":\"https://idp.test\""));

        Assert.Equal(200, (await CurlAsync(false, proxy.Port(), "-H", $"Authorization: Bearer {Signed(first)}")).Status);
        Assert.Equal(1, Volatile.Read(ref fetches));

        Volatile.Write(ref document, TestKey.Jwks(first, second));
        // Past jwks_min_interval since the first fetch, so an unknown kid may fetch again.
        await Task.Delay(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(200, (await CurlAsync(true, proxy.Port(), "-H", $"Authorization: Bearer {Signed(second)}")).Status);
        Assert.Equal(2, Volatile.Read(ref fetches));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task The_AOT_binary_verifies_EdDSA_RS256_and_HS256_tokens()
    {
        // Ed25519 comes from BouncyCastle: this shows trimming kept what it needs in the native binary.
        var ed = TestKey.Ed("ed");
        var rsa = TestKey.Rsa("rsa");
        var secret = new string('s', 32);
        var hmac = TestKey.Hmac("", System.Text.Encoding.ASCII.GetBytes(secret));
        File.WriteAllText(Path.Combine(_dir.FullName, "keys.json"), TestKey.Jwks(ed, rsa));
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        int port = ProxyProcess.FreePort();
        var config = Config(origin.Port, "secret = \"env:FASTPROXY_TEST_AOT_SECRET\"\nalgorithms = [\"EdDSA\", \"RS256\", \"HS256\"]", $"127.0.0.1:{port}")
            .Replace(KeyFile, Path.Combine(_dir.FullName, "keys.json"), StringComparison.Ordinal);
        await using var proxy = ProxyProcess.StartWithConfig(config, out var configPath, new Dictionary<string, string> { ["FASTPROXY_TEST_AOT_SECRET"] = secret });
        try
        {
            await proxy.WaitForPortAsync(port);
            string Payload() => TestKey.Payload("alice", DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds(), "\"iss\":\"https://idp.test\"");
            foreach (var token in new[] { ed.Sign(Payload()), rsa.Sign(Payload()), hmac.Sign(Payload()) })
            {
                Assert.Equal(200, (await CurlAsync(true, port, "-H", $"Authorization: Bearer {token}")).Status);
            }
            var forged = TestKey.Ed("ed").Sign(Payload());
            Assert.Equal(401, (await CurlAsync(false, port, "-H", $"Authorization: Bearer {forged}")).Status);
            Assert.Equal(3, origin.Requests.Count);
        }
        finally
        {
            File.Delete(configPath);
        }
    }
}
