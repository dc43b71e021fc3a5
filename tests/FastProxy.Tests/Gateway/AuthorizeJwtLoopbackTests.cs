using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// authorize after the jwt policy, end to end: claims (a list claim containing the value, a number claim, all of them)
/// and groups of the consumer a token's subject names, with tokens signed in the test; curl over HTTP/1.1 and h2c in
/// front of a counting origin.
/// </summary>
public sealed class AuthorizeJwtLoopbackTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-authz-jwt-");
    private readonly TestKey _key = TestKey.Ec("k1");

    public AuthorizeJwtLoopbackTests() => File.WriteAllText(KeyFile, _key.PublicPem());

    public void Dispose() => _dir.Delete(recursive: true);

    private string KeyFile => Path.Combine(_dir.FullName, "issuer.pem");

    private string Config(int origin) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "writers"
        upstream = "app"
        policies = ["token", "writers"]
        [routes.match]
        path_prefix = "/orders"

        [[routes]]
        name = "gold"
        upstream = "app"
        policies = ["token", "gold"]

        [upstreams.app]
        servers = [{ address = "127.0.0.1:{{origin}}" }]

        [consumers.alice]
        jwt_subject = "alice"
        groups = ["gold"]

        [policies.token]
        type = "jwt"
        keys = ["{{KeyFile}}"]
        issuer = "https://idp.test"

        [policies.writers]
        type = "authorize"
        claims = { roles = "writer", tenant = "acme", level = 3 }

        [policies.gold]
        type = "authorize"
        groups = ["gold"]
        """;

    private string Token(string sub, string roles, string tenant = "acme", int level = 3) =>
        _key.Sign(TestKey.Payload(sub, null, $"\"iss\":\"https://idp.test\",\"roles\":{roles},\"tenant\":\"{tenant}\",\"level\":{level}"));

    private static RawUpstream Origin() => new(r => RawUpstream.Ok("from-origin"));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_claim_must_hold_and_a_list_claim_must_contain_the_value(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        async Task<int> StatusAsync(string token) =>
            (await CurlAnswer.GetAsync(h2, proxy.Url("/orders").ToString(), "Authorization: Bearer " + token)).Status;

        Assert.Equal(200, await StatusAsync(Token("carol", "[\"reader\",\"writer\"]")));
        Assert.Equal(200, await StatusAsync(Token("carol", "\"writer\"")));                    // a string claim equal to the value
        Assert.Equal(403, await StatusAsync(Token("carol", "[\"reader\"]")));                  // the list lacks it
        Assert.Equal(403, await StatusAsync(Token("carol", "[\"writer\"]", tenant: "other"))); // all of them must hold
        Assert.Equal(403, await StatusAsync(Token("carol", "[\"writer\"]", level: 30)));       // a number, as written

        Assert.Equal(2, origin.Requests.Count);
        // carol is no declared consumer: the claims alone let her on, and no x-consumer is invented for her.
        Assert.All(origin.Requests, r => Assert.Null(r.Header("x-consumer")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Groups_come_from_the_consumer_a_tokens_subject_names(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var alice = await CurlAnswer.GetAsync(h2, proxy.Url("/home").ToString(), "Authorization: Bearer " + Token("alice", "[]"));
        var carol = await CurlAnswer.GetAsync(h2, proxy.Url("/home").ToString(), "Authorization: Bearer " + Token("carol", "[]"));

        Assert.Equal(200, alice.Status);
        Assert.Equal(403, carol.Status);
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("alice", seen.Header("x-consumer"));
        Assert.Equal("gold", seen.Header("x-consumer-groups"));
    }
}
