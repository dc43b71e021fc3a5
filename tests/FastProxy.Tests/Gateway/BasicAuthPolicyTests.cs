using System.Text;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.BasicAuth;
using FastProxy.Tests.Configuration;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The basic_auth policy with htpasswd files made by the htpasswd tool (bcrypt -B and {SHA} -s) and with consumers'
/// password hashes: who passes, who is refused and how, what reaches the upstream, what the bcrypt cache remembers.
/// </summary>
public sealed class BasicAuthPolicyTests : IDisposable
{
    private readonly string _dir = TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<(BasicAuthPolicy Policy, PolicySet Set)> BuildAsync(string policy = "", string consumers = "", TimeProvider? time = null)
    {
        var lines = new[]
        {
            await HtpasswdLineAsync("alice", "correct horse", bcrypt: true),
            await HtpasswdLineAsync("bob", "battery staple", bcrypt: false),
            await HtpasswdLineAsync("carol", "pässwörd", bcrypt: true),
        };
        File.WriteAllText(Path.Combine(_dir, "users.htpasswd"), "# made by htpasswd\n" + string.Join("\n", lines) + "\n");
        var set = AuthnTestKit.Build($$"""
            {{ConfigText.Minimal}}

            [consumers.alice]
            groups = ["admin"]
            {{consumers}}

            [policies.login]
            type = "basic_auth"
            realm = "staff"
            htpasswd = "users.htpasswd"
            {{policy}}
            """, _dir, time);
        return (Policy<BasicAuthPolicy>(set, "login"), set);
    }

    private static async Task<PolicyAnswer?> RunAsync(IPolicy policy, PolicyContext context) => await policy.OnRequestAsync(context);

    [Fact]
    public async Task A_bcrypt_user_with_the_right_password_passes_and_its_password_is_not_forwarded()
    {
        var (policy, _) = await BuildAsync();
        var context = Request("GET / HTTP/1.1", "Host: app", Basic("alice", "correct horse"), "Accept: */*");

        Assert.Null(await RunAsync(policy, context));

        Assert.Equal("alice", context.Consumer?.Name);
        // alice is also a declared consumer: her groups come with her.
        Assert.Equal(["admin"], context.Consumer!.Groups);
        Assert.Equal(["host", "accept"], ForwardedHeaderNames(context));
    }

    [Fact]
    public async Task A_sha_user_passes_synchronously_as_a_consumer_of_its_own()
    {
        var (policy, _) = await BuildAsync();
        var context = Request("GET / HTTP/1.1", "Host: app", Basic("bob", "battery staple"));

        Assert.Null(Now(policy, context));

        // No [consumers.bob]: bob stands for himself (x-consumer: bob), with no groups.
        Assert.Equal("bob", context.Consumer?.Name);
        Assert.Empty(context.Consumer!.Groups);
    }

    [Fact]
    public async Task A_utf8_password_passes()
    {
        var (policy, _) = await BuildAsync();
        var context = Request(Encoding.UTF8.GetBytes($"GET / HTTP/1.1\r\nHost: app\r\n{Basic("carol", "pässwörd")}\r\n\r\n"));

        Assert.Null(await RunAsync(policy, context));
        Assert.Equal("carol", context.Consumer?.Name);
    }

    [Fact]
    public async Task Forward_credentials_keeps_the_authorization_field()
    {
        var (policy, _) = await BuildAsync("forward_credentials = true");
        var context = Request("GET / HTTP/1.1", "Host: app", Basic("bob", "battery staple"));

        Assert.Null(Now(policy, context));
        Assert.Equal(["host", "authorization"], ForwardedHeaderNames(context));
    }

    [Theory]
    [InlineData("alice", "correct horsE")]
    [InlineData("alice", "correct hors")]
    [InlineData("alice", "")]
    [InlineData("bob", "battery staplf")] // last byte differs
    [InlineData("bob", "Battery staple")] // first byte differs
    [InlineData("mallory", "correct horse")]
    [InlineData("Alice", "correct horse")] // user names are case-sensitive
    public async Task A_wrong_password_or_an_unknown_user_is_refused_as_invalid(string user, string password)
    {
        var (policy, _) = await BuildAsync();
        var context = Request("GET / HTTP/1.1", "Host: app", Basic(user, password));

        var answer = await RunAsync(policy, context);

        Assert.Equal(401, answer!.Status);
        Assert.Equal("invalid", answer.Counter.Reason);
        Assert.Null(context.Consumer);
        Assert.Contains("WWW-Authenticate: Basic realm=\"staff\", charset=\"UTF-8\"\r\n", Lines(answer));
    }

    [Theory]
    [InlineData(null, "missing")]
    [InlineData("Authorization: Bearer abc.def.ghi", "missing")]
    [InlineData("Authorization: Basic", "missing")]
    [InlineData("Authorization: Basic !!!notbase64", "invalid")]
    [InlineData("Authorization: Basic YWxpY2U=", "invalid")] // "alice": no colon
    [InlineData("Authorization: basic Ym9iOmJhdHRlcnkgc3RhcGxl", "accepted")] // the scheme is case-insensitive
    public async Task Missing_other_scheme_and_malformed_credentials(string? field, string expected)
    {
        var (policy, _) = await BuildAsync();
        var context = field is null ? Request("GET / HTTP/1.1", "Host: app") : Request("GET / HTTP/1.1", "Host: app", field);

        var answer = Now(policy, context);

        Assert.Equal(expected, answer?.Counter.Reason ?? "accepted");
    }

    [Fact]
    public async Task Two_authorization_fields_are_refused()
    {
        var (policy, _) = await BuildAsync();
        var answer = Now(policy, Request("GET / HTTP/1.1", "Host: app", Basic("bob", "battery staple"), Basic("bob", "battery staple")));

        Assert.Equal("invalid", answer!.Counter.Reason);
    }

    [Fact]
    public async Task Credentials_over_1_KiB_are_refused_without_being_decoded()
    {
        var (policy, _) = await BuildAsync();
        var answer = Now(policy, Request("GET / HTTP/1.1", "Host: app", Basic("bob", new string('x', 2000))));

        Assert.Equal("invalid", answer!.Counter.Reason);
    }

    [Fact]
    public async Task A_password_that_is_not_utf8_is_refused()
    {
        var (policy, _) = await BuildAsync();
        // "carol:p\xE4sswörd" with the ä as a lone Latin-1 byte.
        var credentials = Encoding.UTF8.GetBytes("carol:p_sswörd");
        credentials[7] = 0xE4;
        var context = Request("GET / HTTP/1.1", "Host: app", "Authorization: Basic " + Convert.ToBase64String(credentials));

        Assert.Equal("invalid", (await RunAsync(policy, context))!.Counter.Reason);
    }

    [Fact]
    public async Task A_bcrypt_success_is_remembered_and_then_checked_without_bcrypt()
    {
        var clock = new AuthnClock();
        var (policy, _) = await BuildAsync(time: clock);
        var head = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: app\r\n{Basic("alice", "correct horse")}\r\n\r\n");

        Assert.Null(await RunAsync(policy, Request(head)));
        Assert.Equal(1, policy.SlowChecks);
        Assert.Equal(1, policy.CachedCount);

        // Remembered: answered at once, no bcrypt, the same edits.
        var again = Request(head);
        Assert.Null(Now(policy, again));
        Assert.Equal(1, policy.SlowChecks);
        Assert.Equal("alice", again.Consumer?.Name);
        Assert.Equal(["host"], ForwardedHeaderNames(again));

        // Past cache_ttl (default 5 minutes): bcrypt again.
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.Null(await RunAsync(policy, Request(head)));
        Assert.Equal(2, policy.SlowChecks);
    }

    [Fact]
    public async Task Failures_are_never_remembered()
    {
        var (policy, _) = await BuildAsync();
        var head = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: app\r\n{Basic("alice", "wrong")}\r\n\r\n");

        for (int i = 0; i < 3; i++) Assert.NotNull(await RunAsync(policy, Request(head)));

        Assert.Equal(3, policy.SlowChecks);
        Assert.Equal(0, policy.CachedCount);
    }

    [Fact]
    public async Task An_unknown_user_costs_a_bcrypt_check_like_a_wrong_password()
    {
        var (policy, _) = await BuildAsync();

        Assert.NotNull(await RunAsync(policy, Request("GET / HTTP/1.1", "Host: app", Basic("mallory", "x"))));

        Assert.Equal(1, policy.SlowChecks);
        Assert.Equal(0, policy.CachedCount);
    }

    [Fact]
    public async Task An_unknown_user_costs_bcrypt_even_when_the_first_user_is_sha()
    {
        File.WriteAllText(Path.Combine(_dir, "mixed"), string.Join("\n",
            await HtpasswdLineAsync("bob", "battery staple", bcrypt: false),
            await HtpasswdLineAsync("alice", "correct horse", bcrypt: true)) + "\n");
        var set = AuthnTestKit.Build($$"""
            {{ConfigText.Minimal}}
            [policies.login]
            type = "basic_auth"
            htpasswd = "mixed"
            """, _dir);
        var policy = Policy<BasicAuthPolicy>(set, "login");

        Assert.NotNull(await RunAsync(policy, Request("GET / HTTP/1.1", "Host: app", Basic("mallory", "x"))));

        Assert.Equal(1, policy.SlowChecks);
    }

    [Fact]
    public async Task The_cache_is_keyed_by_user_and_password_together()
    {
        var (policy, _) = await BuildAsync();
        Assert.Null(await RunAsync(policy, Request("GET / HTTP/1.1", "Host: app", Basic("alice", "correct horse"))));

        // carol with alice's password: not a cache hit, and refused.
        Assert.NotNull(await RunAsync(policy, Request("GET / HTTP/1.1", "Host: app", Basic("carol", "correct horse"))));
        Assert.Equal(2, policy.SlowChecks);
    }

    [Fact]
    public async Task Cache_ttl_zero_checks_bcrypt_every_time()
    {
        var (policy, _) = await BuildAsync("cache_ttl = \"0s\"");
        var head = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: app\r\n{Basic("alice", "correct horse")}\r\n\r\n");

        Assert.Null(await RunAsync(policy, Request(head)));
        Assert.Null(await RunAsync(policy, Request(head)));

        Assert.Equal(2, policy.SlowChecks);
        Assert.Equal(0, policy.CachedCount);
    }

    [Fact]
    public async Task A_new_load_starts_a_new_cache()
    {
        var (first, _) = await BuildAsync();
        Assert.Null(await RunAsync(first, Request("GET / HTTP/1.1", "Host: app", Basic("alice", "correct horse"))));
        Assert.Equal(1, first.CachedCount);

        var (second, _) = await BuildAsync();

        Assert.Equal(0, second.CachedCount);
    }

    [Fact]
    public async Task Without_htpasswd_the_users_are_the_consumers_with_a_password_hash()
    {
        var alice = (await HtpasswdLineAsync("alice", "correct horse", bcrypt: true)).Split(':', 2)[1];
        var bob = (await HtpasswdLineAsync("bob", "battery staple", bcrypt: false)).Split(':', 2)[1];
        var set = AuthnTestKit.Build($$"""
            {{ConfigText.Minimal}}
            [consumers.alice]
            basic_password_hash = "{{alice}}"
            groups = ["admin"]
            [consumers.bob]
            basic_password_hash = "{{bob}}"
            [consumers.dave]
            groups = ["nobody-logs-in-as-me"]
            [policies.login]
            type = "basic_auth"
            """);
        var policy = Policy<BasicAuthPolicy>(set, "login");

        var context = Request("GET / HTTP/1.1", "Host: app", Basic("alice", "correct horse"));
        Assert.Null(await RunAsync(policy, context));
        Assert.Same(set.Consumers.ByName("alice"), context.Consumer);

        Assert.Null(Now(policy, Request("GET / HTTP/1.1", "Host: app", Basic("bob", "battery staple"))));
        Assert.NotNull(await RunAsync(policy, Request("GET / HTTP/1.1", "Host: app", Basic("dave", ""))));
        Assert.Contains("realm=\"restricted\"", Lines(Now(policy, Request("GET / HTTP/1.1", "Host: app"))!));
    }

    [Fact]
    public async Task A_cached_check_allocates_nothing()
    {
        var (policy, _) = await BuildAsync();
        var cached = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: app\r\n{Basic("alice", "correct horse")}\r\n\r\n");
        var sha = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: app\r\n{Basic("bob", "battery staple")}\r\n\r\n");
        var context = Request(cached);
        Assert.Null(await RunAsync(policy, context));
        var shaContext = Request(sha);
        for (int i = 0; i < 3; i++) Run();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 500; i++) Run();

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Run()
        {
            context.Begin(context.Request, cached, context.Client, "127.0.0.1"u8, "api", false);
            Assert.Null(Now(policy, context));
            shaContext.Begin(shaContext.Request, sha, shaContext.Client, "127.0.0.1"u8, "api", false);
            Assert.Null(Now(policy, shaContext));
        }
    }
}
