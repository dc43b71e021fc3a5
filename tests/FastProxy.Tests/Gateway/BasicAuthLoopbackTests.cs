using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// basic_auth end to end, with an htpasswd file made by the htpasswd tool (bcrypt -B and {SHA} -s): curl's -u over
/// HTTP/1.1 and h2c against a counting origin; a reload that changes a password.
/// </summary>
public sealed class BasicAuthLoopbackTests : IDisposable
{
    private readonly string _dir = TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<string> ConfigAsync(int origin, string policy = "", string alicePassword = "correct horse")
    {
        File.WriteAllText(Path.Combine(_dir, "users.htpasswd"), string.Join("\n",
            await HtpasswdLineAsync("alice", alicePassword, bcrypt: true),
            await HtpasswdLineAsync("bob", "battery staple", bcrypt: false)) + "\n");
        return $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "app"
            upstream = "app"
            policies = ["login"]

            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{origin}}" } ]

            [consumers.alice]
            groups = ["staff", "admin"]

            [policies.login]
            type = "basic_auth"
            realm = "staff area"
            htpasswd = "{{Path.Combine(_dir, "users.htpasswd")}}"
            {{policy}}
            """;
    }

    private static RawUpstream Origin() => new(r => RawUpstream.Ok("from-origin"));

    private static Task<CurlResponse> GetAsync(bool h2, TestProxy proxy, string? user)
    {
        var url = proxy.Url("/private").ToString();
        if (user is null) return CurlAnswer.GetAsync(h2, url);
        // curl's -u, as a user would type it: curl builds the Authorization field itself.
        return CurlAnswer.GetAsync(h2, url.Replace("http://", $"http://{Uri.EscapeDataString(user.Split(':')[0])}:{Uri.EscapeDataString(user.Split(':', 2)[1])}@", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_bcrypt_user_reaches_the_origin_as_its_consumer_without_the_password(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(await ConfigAsync(origin.Port));

        var answer = await GetAsync(h2, proxy, "alice:correct horse");

        Assert.Equal(200, answer.Status);
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("alice", seen.Header("x-consumer"));
        Assert.Equal("staff,admin", seen.Header("x-consumer-groups"));
        Assert.Null(seen.Header("authorization"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_sha_user_without_a_consumer_is_named_by_its_user_name(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(await ConfigAsync(origin.Port));

        var answer = await GetAsync(h2, proxy, "bob:battery staple");

        Assert.Equal(200, answer.Status);
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("bob", seen.Header("x-consumer"));
        Assert.Null(seen.Header("x-consumer-groups"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Forward_credentials_lets_the_authorization_field_through(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(await ConfigAsync(origin.Port, "forward_credentials = true"));

        var answer = await GetAsync(h2, proxy, "bob:battery staple");

        Assert.Equal(200, answer.Status);
        Assert.Equal("Basic " + Convert.ToBase64String("bob:battery staple"u8), Assert.Single(origin.Requests).Header("authorization"));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, "alice:correct horsE")]
    [InlineData(true, "alice:correct horsE")]
    [InlineData(false, "bob:battery")]
    [InlineData(true, "mallory:correct horse")]
    public async Task No_credentials_a_wrong_password_or_an_unknown_user_get_401_and_nothing_reaches_the_origin(bool h2, string? user)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(await ConfigAsync(origin.Port));

        var answer = await GetAsync(h2, proxy, user);

        Assert.Equal(401, answer.Status);
        Assert.Equal("Basic realm=\"staff area\", charset=\"UTF-8\"", answer.Header("www-authenticate"));
        Assert.Empty(origin.Requests);
        Assert.Equal(0, origin.Connections);
    }

    [Fact]
    public async Task Repeated_requests_on_one_connection_pass_after_the_first_bcrypt_check()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(await ConfigAsync(origin.Port));
        var url = proxy.Url("/private").ToString().Replace("http://", "http://alice:correct%20horse@", StringComparison.Ordinal);

        // Five requests on one connection (curl reuses it for repeated URLs).
        var result = await Processes.CurlAsync("--http1.1", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
            "-w", "%{http_code} ", url, url, url, url, url);

        Assert.Equal("200 200 200 200 200 ", result.StdOut);
        Assert.Equal(5, origin.Requests.Count);
        Assert.All(origin.Requests, r => Assert.Equal("alice", r.Header("x-consumer")));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reload_with_a_changed_password_refuses_the_old_one(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(await ConfigAsync(origin.Port));
        Assert.Equal(200, (await GetAsync(h2, proxy, "alice:correct horse")).Status);

        proxy.Reload(await ConfigAsync(origin.Port, alicePassword: "pässwörd"));

        // The old password was remembered by the old policy's cache: a reload starts a new one, so it is refused now.
        Assert.Equal(401, (await GetAsync(h2, proxy, "alice:correct horse")).Status);
        Assert.Equal(200, (await GetAsync(h2, proxy, "alice:pässwörd")).Status);
        Assert.Equal(2, origin.Requests.Count);
    }
}
