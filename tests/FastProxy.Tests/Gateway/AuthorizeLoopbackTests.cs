using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// authorize end to end, after api_key or basic_auth (on the route or on the listener): curl over HTTP/1.1 and h2c,
/// a counting origin, a reload that widens the groups, and what happens when authorize is listed first.
/// </summary>
public sealed class AuthorizeLoopbackTests : IDisposable
{
    private readonly string _dir = TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Config(int origin, string routePolicies = "\"keys\", \"admins\"", string groups = "[\"admin\"]", string listenerPolicies = "", string extra = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        policies = [{{listenerPolicies}}]

        [[routes]]
        name = "app"
        upstream = "app"
        policies = [{{routePolicies}}]

        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{origin}}" } ]

        [consumers.alice]
        api_keys = ["sha256:{{AliceDigest}}"]
        groups = ["gold", "admin"]

        [consumers.bob]
        api_keys = ["sha256:{{BobDigest}}"]
        groups = ["free"]

        [policies.keys]
        type = "api_key"

        [policies.admins]
        type = "authorize"
        groups = {{groups}}
        {{extra}}
        """;

    private static RawUpstream Origin() => new(r => RawUpstream.Ok("from-origin"));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_consumer_in_a_listed_group_passes_and_one_outside_gets_403_with_nothing_forwarded(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var alice = await CurlAnswer.GetAsync(h2, proxy.Url("/admin").ToString(), "X-Api-Key: " + AliceKey);
        var bob = await CurlAnswer.GetAsync(h2, proxy.Url("/admin").ToString(), "X-Api-Key: " + BobKey);

        Assert.Equal(200, alice.Status);
        Assert.Equal(403, bob.Status);
        Assert.Equal("403 Forbidden\n", bob.Body);
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("alice", seen.Header("x-consumer"));
        Assert.Equal("gold,admin", seen.Header("x-consumer-groups"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Authorize_listed_before_authentication_refuses_even_a_valid_key(bool h2)
    {
        await using var origin = Origin();
        var config = Config(origin.Port, routePolicies: "\"admins\", \"keys\"");
        // fastproxy check says so.
        Assert.Contains(FastProxy.Tests.Configuration.ConfigText.Parse(config).Warnings, w => w.Message.Contains("runs before any authentication", StringComparison.Ordinal));
        await using var proxy = TestProxy.Start(config);

        var alice = await CurlAnswer.GetAsync(h2, proxy.Url("/admin").ToString(), "X-Api-Key: " + AliceKey);

        Assert.Equal(403, alice.Status);
        Assert.Empty(origin.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Authentication_on_the_listener_feeds_authorize_on_the_route(bool h2)
    {
        File.WriteAllText(Path.Combine(_dir, "users"), string.Join("\n",
            (await HtpasswdLineAsync("alice", "correct horse", bcrypt: true)),
            (await HtpasswdLineAsync("bob", "battery staple", bcrypt: false))) + "\n");
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port, routePolicies: "\"admins\"", listenerPolicies: "\"login\"",
            extra: $"[policies.login]\ntype = \"basic_auth\"\nhtpasswd = \"{Path.Combine(_dir, "users")}\""));
        string Url(string user) => proxy.Url("/admin").ToString().Replace("http://", $"http://{user}@", StringComparison.Ordinal);

        // alice of the htpasswd file is [consumers.alice]: in group admin. bob is a consumer of his own, with no groups.
        var alice = await CurlAnswer.GetAsync(h2, Url("alice:correct%20horse"));
        var bob = await CurlAnswer.GetAsync(h2, Url("bob:battery%20staple"));
        var nobody = await CurlAnswer.GetAsync(h2, proxy.Url("/admin").ToString());

        Assert.Equal(200, alice.Status);
        Assert.Equal(403, bob.Status);
        Assert.Equal(401, nobody.Status);
        Assert.Equal("alice", Assert.Single(origin.Requests).Header("x-consumer"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reload_that_adds_a_group_lets_its_consumers_in(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));
        var before = await CurlAnswer.GetAsync(h2, proxy.Url("/admin").ToString(), "X-Api-Key: " + BobKey);

        proxy.Reload(Config(origin.Port, groups: "[\"admin\", \"free\"]"));
        var after = await CurlAnswer.GetAsync(h2, proxy.Url("/admin").ToString(), "X-Api-Key: " + BobKey);

        Assert.Equal(403, before.Status);
        Assert.Equal(200, after.Status);
        Assert.Equal("free", Assert.Single(origin.Requests).Header("x-consumer-groups"));
    }
}
