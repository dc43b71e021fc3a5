using FastProxy.Policies.Types.Jwt;
using FastProxy.Tests.Forwarding.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using static FastProxy.Tests.Gateway.JwtHarness;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// Keys from a JWKS URL served by a real Kestrel on loopback, fetched through IOutboundHttp (HttpClient here). The
/// clock is the test's: "an interval later" is a step of the clock, not a sleep. Fetches are counted at the server.
/// </summary>
public sealed class JwtJwksTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>A key server whose document, status and Cache-Control the test changes, and which can hold answers back.</summary>
    private sealed class KeyServer : IAsyncDisposable
    {
        private KestrelOrigin _origin = null!;
        private int _fetches;
        private volatile TaskCompletionSource _gate = Open();

        public string Document { get; set; } = "{\"keys\":[]}";
        public int Status { get; set; } = 200;
        public string? CacheControl { get; set; }
        public int Fetches => Volatile.Read(ref _fetches);
        public string Url => $"http://127.0.0.1:{_origin.Port}/jwks.json";

        public static async Task<KeyServer> StartAsync(params TestKey[] keys)
        {
            var server = new KeyServer { Document = TestKey.Jwks(keys) };
            server._origin = await KestrelOrigin.StartAsync(app => app.MapGet("/jwks.json", server.ServeAsync));
            return server;
        }

        private async Task ServeAsync(HttpContext context)
        {
            Interlocked.Increment(ref _fetches);
            await _gate.Task.WaitAsync(Wait);
            context.Response.StatusCode = Status;
            if (CacheControl is not null) context.Response.Headers.CacheControl = CacheControl;
            context.Response.ContentType = "application/jwk-set+json";
            await context.Response.WriteAsync(Document);
        }

        /// <summary>Answers wait until <see cref="Release"/>: a fetch stays in flight while the test sends requests.</summary>
        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _gate.TrySetResult();

        private static TaskCompletionSource Open()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }

        public ValueTask DisposeAsync() => _origin.DisposeAsync();
    }

    private static JwtPolicy Policy(KeyServer server, ManualTime time, ListLogger? logger = null, string extra = "") => Build($"""
        [policies.auth]
        type = "jwt"
        jwks_url = "{server.Url}"
        {extra}
        """, time: time, logger: logger);

    private static string Token(TestKey key, ManualTime time, string? kid = null) =>
        key.Sign(TestKey.Payload("alice", time.GetUtcNow().AddHours(1).ToUnixTimeSeconds()), kid: kid);

    /// <summary>The fetch the policy starts when it is built, done (bounded).</summary>
    private static async Task FirstFetchDone(JwtPolicy policy, int keys = 1)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (policy.Jwks!.Keys.Keys.Length < keys || policy.Jwks.Pending is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the key set was not fetched");
            await Task.Delay(10);
        }
    }

    private static string Kid() => "k-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_rotated_in_key_is_accepted_after_exactly_one_fetch()
    {
        var old = TestKey.Rsa(Kid());
        await using var server = await KeyServer.StartAsync(old);
        var time = new ManualTime(Start);
        var policy = Policy(server, time);
        await FirstFetchDone(policy);
        Assert.Null(await RunAsync(policy, Bearer(Token(old, time))));
        Assert.Equal(1, server.Fetches);

        // The issuer rotates: a new key, and tokens naming it, an interval after the first fetch.
        var rotated = TestKey.Ec(Kid());
        server.Document = TestKey.Jwks(old, rotated);
        time.Advance(TimeSpan.FromSeconds(11));

        Assert.Null(await RunAsync(policy, Bearer(Token(rotated, time))));
        Assert.Equal(2, server.Fetches);
        Assert.Null(await RunAsync(policy, Bearer(Token(rotated, time))));
        Assert.Null(await RunAsync(policy, Bearer(Token(old, time))));
        Assert.Equal(2, server.Fetches);
    }

    [Fact]
    public async Task A_flood_of_unknown_kids_costs_one_fetch_per_interval_and_every_waiter_uses_its_result()
    {
        var key = TestKey.Ec(Kid());
        await using var server = await KeyServer.StartAsync(key);
        var time = new ManualTime(Start);
        var policy = Policy(server, time);
        await FirstFetchDone(policy);
        time.Advance(TimeSpan.FromSeconds(11));

        // 200 tokens, each naming a kid nobody has, all while the one fetch they trigger is held at the server.
        server.Hold();
        var pending = Enumerable.Range(0, 200).Select(i => policy.OnRequestAsync(Bearer(Token(key, time, kid: $"made-up-{i}"))).AsTask()).ToList();
        Assert.All(pending, p => Assert.False(p.IsCompleted));
        server.Release();
        var answers = await Task.WhenAll(pending).WaitAsync(Wait);

        Assert.Equal(2, server.Fetches);
        Assert.All(answers, a => Assert.Equal(Invalid("no known key matches the token"), Challenge(a!)));

        // Within the same interval: no fetch at all, an immediate 401.
        for (int i = 0; i < 200; i++)
        {
            var answer = policy.OnRequestAsync(Bearer(Token(key, time, kid: $"again-{i}")));
            Assert.True(answer.IsCompleted);
            Assert.Equal(401, (await answer)!.Status);
        }
        Assert.Equal(2, server.Fetches);

        // The next interval allows one more.
        time.Advance(TimeSpan.FromSeconds(11));
        for (int i = 0; i < 20; i++) await RunAsync(policy, Bearer(Token(key, time, kid: $"later-{i}")));
        Assert.Equal(3, server.Fetches);
        // The known key worked all along.
        Assert.Null(await RunAsync(policy, Bearer(Token(key, time))));
    }

    [Fact]
    public async Task Keys_are_refreshed_in_the_background_before_max_age_runs_out()
    {
        var key = TestKey.Ec(Kid());
        await using var server = await KeyServer.StartAsync(key);
        server.CacheControl = "public, max-age=120";
        var time = new ManualTime(Start);
        var policy = Policy(server, time);
        await FirstFetchDone(policy);

        time.Advance(TimeSpan.FromSeconds(100));
        Assert.Null(await RunAsync(policy, Bearer(Token(key, time))));
        Assert.Equal(1, server.Fetches);

        // Past 90% of max-age: the next request starts a fetch and is answered at once from the keys there are.
        time.Advance(TimeSpan.FromSeconds(10));
        server.Hold();
        var answer = policy.OnRequestAsync(Bearer(Token(key, time)));
        Assert.True(answer.IsCompleted);
        Assert.Null(await answer);
        await WaitUntil(() => server.Fetches == 2);
        server.Release();
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_old_keys_and_is_logged()
    {
        var key = TestKey.Ec(Kid());
        await using var server = await KeyServer.StartAsync(key);
        var time = new ManualTime(Start);
        var logger = new ListLogger();
        var policy = Policy(server, time, logger, "jwks_refresh = \"5m\"");
        await FirstFetchDone(policy);

        server.Status = 500;
        time.Advance(TimeSpan.FromMinutes(5));
        await RunAsync(policy, Bearer(Token(key, time)));
        await WaitUntil(() => logger.Entries.Any(e => e.Level == LogLevel.Warning));

        // A token never seen before still verifies with the key fetched earlier.
        Assert.Null(await RunAsync(policy, Bearer(Token(key, time))));
        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning).Message;
        Assert.Equal($"policy \"auth\": fetching keys from {server.Url} failed (status 500); the 1 key(s) already known keep serving", warning);
        Assert.Equal(2, server.Fetches);

        // Tried again after jwks_min_interval, not per request.
        Assert.Null(await RunAsync(policy, Bearer(Token(key, time))));
        Assert.Equal(2, server.Fetches);
        time.Advance(TimeSpan.FromSeconds(11));
        await RunAsync(policy, Bearer(Token(key, time)));
        await WaitUntil(() => server.Fetches == 3);
    }

    [Fact]
    public async Task Without_any_keys_the_answer_is_503_and_the_key_server_is_not_hammered()
    {
        var key = TestKey.Ec(Kid());
        await using var server = await KeyServer.StartAsync(key);
        server.Status = 503;
        var time = new ManualTime(Start);

        var policy = Policy(server, time);
        var answer = (await RunAsync(policy, Bearer(Token(key, time))))!;

        Assert.Equal(503, answer.Status);
        Assert.Contains("Retry-After: 10\r\n", System.Text.Encoding.ASCII.GetString(answer.HeaderLines), StringComparison.Ordinal);
        Assert.Equal("keys_unavailable", answer.Counter.Reason);
        for (int i = 0; i < 50; i++) Assert.Equal(503, (await RunAsync(policy, Bearer(Token(key, time))))!.Status);
        Assert.Equal(1, server.Fetches);

        // The key server comes back: the first request after the interval waits for the fetch and passes.
        server.Status = 200;
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await RunAsync(policy, Bearer(Token(key, time))));
    }

    [Fact]
    public async Task A_key_the_set_drops_no_longer_verifies_even_a_cached_token()
    {
        var leaving = TestKey.Ec(Kid());
        var staying = TestKey.Ec(Kid());
        await using var server = await KeyServer.StartAsync(leaving, staying);
        var time = new ManualTime(Start);
        var policy = Policy(server, time, extra: "jwks_refresh = \"2m\"");
        await FirstFetchDone(policy, keys: 2);
        var token = Token(leaving, time);
        var other = Token(staying, time);
        Assert.Null(await RunAsync(policy, Bearer(token)));
        Assert.Null(await RunAsync(policy, Bearer(other)));

        server.Document = TestKey.Jwks(staying);
        time.Advance(TimeSpan.FromMinutes(2));
        await RunAsync(policy, Bearer(other));
        await WaitUntil(() => policy.Jwks!.Keys.Keys.Length == 1);

        Assert.Equal(Invalid("no known key matches the token"), Challenge((await RunAsync(policy, Bearer(token)))!));
        long checks = policy.SignatureChecks;
        // The key that stayed kept its object: its token is still a cache hit.
        Assert.Null(await RunAsync(policy, Bearer(other)));
        Assert.Equal(checks, policy.SignatureChecks);
    }

    [Fact]
    public async Task A_reload_starts_from_the_keys_the_previous_policy_fetched()
    {
        var key = TestKey.Ec(Kid());
        await using var server = await KeyServer.StartAsync(key);
        var time = new ManualTime(Start);
        await FirstFetchDone(Policy(server, time));

        // The key server is down when the configuration is loaded again.
        server.Status = 500;
        var reloaded = Policy(server, time);

        Assert.Null(await RunAsync(reloaded, Bearer(Token(key, time))));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
