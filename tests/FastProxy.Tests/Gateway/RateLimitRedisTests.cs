using System.Diagnostics;
using System.Net;
using System.Net.Http;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// rate_limit with store = "redis" in the native AOT binary, against a real redis-server the test starts on a free
/// loopback port (no persistence) and stops: three proxies share one limit exactly, over HTTP/1.1 and h2c; every key
/// has a TTL; a killed Redis with on_store_error = "allow" fails no request, the breaker then answers without waiting,
/// and limits are enforced again once Redis is back; a stalled Redis with "deny" gives 503s without a timeout per
/// request; a daily quota per consumer plan survives a restart of the proxy.
/// </summary>
public sealed class RateLimitRedisTests
{
    private static string Config(int port, int origin, int redis, string policy, string redisExtra = "", string extra = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        upstream = "app"
        policies = ["low"]
        [routes.match]
        path_prefix = "/low"

        [[routes]]
        upstream = "app"
        policies = ["limit"]

        [upstreams.app]
        servers = [{ address = "127.0.0.1:{{origin}}" }]

        [redis]
        address = "127.0.0.1:{{redis}}"
        {{redisExtra}}

        [policies.limit]
        type = "rate_limit"
        key = "ip"
        store = "redis"
        {{policy}}

        [policies.low]
        type = "rate_limit"
        key = "ip"
        rate = "3/m"
        store = "redis"
        on_store_error = "allow"
        {{extra}}
        """;

    private static HttpClient Client() => new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 64, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(20),
    };

    private static async Task<(HttpStatusCode Status, TimeSpan? RetryAfter)> GetAsync(HttpClient client, int port, string path, bool h2 = false, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}{path}");
        if (h2)
        {
            // h2c with prior knowledge, as curl --http2-prior-knowledge.
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
        if (apiKey is not null) request.Headers.Add("x-api-key", apiKey);
        using var response = await client.SendAsync(request);
        if (h2) Assert.Equal(HttpVersion.Version20, response.Version);
        return (response.StatusCode, response.Headers.RetryAfter?.Delta);
    }

    private static async Task<ProxyProcess> StartAsync(string toml)
    {
        var port = int.Parse(toml.Split("bind = \"127.0.0.1:")[1].Split('"')[0]);
        var proxy = ProxyProcess.StartWithConfig(toml, out _);
        await proxy.WaitForPortAsync(port);
        return proxy;
    }

    [Fact]
    public async Task Three_proxies_sharing_one_redis_admit_100_of_1000_requests_plus_only_the_refill_over_http1_and_h2c()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        // A generous timeout and deny: a store error would be a 503, never an extra 200.
        const string policy = "rate = \"100/m\"\non_store_error = \"deny\"";
        int[] ports = [ProxyProcess.FreePort(), ProxyProcess.FreePort(), ProxyProcess.FreePort()];
        var proxies = new List<ProxyProcess>();
        try
        {
            foreach (var port in ports) proxies.Add(await StartAsync(Config(port, origin.Port, redis.Port, policy, "timeout = \"2s\"")));
            using var client = Client();
            int next = -1;
            var results = new (HttpStatusCode Status, TimeSpan? RetryAfter)[1000];
            // 24 concurrent clients; request i goes to proxy i % 3, and every third proxy's share is HTTP/2 (h2c).
            var watch = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, 24).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < results.Length)
                {
                    results[i] = await GetAsync(client, ports[i % 3], "/", h2: i % 6 == 2);
                }
            })).ToArray();
            await Task.WhenAll(workers);
            var elapsed = watch.Elapsed;

            // GCRA: the burst of 100 at once, then one more every 0.6 s (100 a minute) while the run lasts. So exactly
            // 100 when the 1,000 requests fit in 0.6 s, and never more than 100 + elapsed / 0.6 s on a slower run: a
            // read-then-write race between the proxies would overshoot by far more (every concurrent request would pass).
            int admitted = results.Count(r => r.Status == HttpStatusCode.OK);
            int refills = (int)(elapsed.TotalMilliseconds / 600);
            Assert.True(admitted >= 100 && admitted <= 100 + refills, $"{admitted} admitted in {elapsed.TotalMilliseconds:0} ms (at most {100 + refills})");
            Assert.Equal(1000 - admitted, results.Count(r => r.Status == HttpStatusCode.TooManyRequests));
            // Admitted by all three proxies, HTTP/2 streams counted like HTTP/1.1 requests.
            for (int p = 0; p < 3; p++) Assert.Contains(results.Where((_, i) => i % 3 == p), r => r.Status == HttpStatusCode.OK);
            Assert.Contains(results.Where((_, i) => i % 6 == 2), r => r.Status == HttpStatusCode.TooManyRequests);
            foreach (var refused in results.Where(r => r.Status == HttpStatusCode.TooManyRequests))
            {
                // 100 per minute: one slot frees every 0.6 s, so the wait is 1 s once rounded up, never more than the minute.
                Assert.NotNull(refused.RetryAfter);
                Assert.InRange(refused.RetryAfter!.Value.TotalSeconds, 1, 60);
            }
            Assert.Equal(admitted, origin.Requests.Count);

            var keys = await redis.KeysWithTtlAsync();
            Assert.NotEmpty(keys);
            Assert.All(keys, k => Assert.StartsWith("fastproxy:rl:limit:", k.Key));
            Assert.All(keys, k => Assert.InRange(k.Value, 1, 60_000));
        }
        finally
        {
            foreach (var proxy in proxies) await proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task Killed_redis_with_allow_fails_no_request_costs_no_wait_once_the_breaker_opens_and_limits_return_with_redis()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        int port = ProxyProcess.FreePort();
        var admin = new IPEndPoint(IPAddress.Loopback, ProxyProcess.FreePort());
        await using var proxy = await StartAsync(Config(port, origin.Port, redis.Port, "rate = \"100000/m\"\non_store_error = \"allow\"", "timeout = \"100ms\"")
            + $"\n\n[admin]\nbind = \"{admin}\"\n");
        using var client = Client();

        // Enforced: 3 a minute on /low.
        var low = new List<HttpStatusCode>();
        for (int i = 0; i < 4; i++) low.Add((await GetAsync(client, port, "/low")).Status);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], low);
        // The store's metrics (promtool-checked scrapes): no error yet, the breaker closed, for each policy.
        var scrape = await Observability.MetricsScrape.FetchAsync(admin);
        Assert.Equal(0d, scrape.Value("fastproxy_rate_limit_store_errors_total", ("policy", "low")));
        Assert.Equal(0d, scrape.Value("fastproxy_rate_limit_store_breaker_open", ("policy", "low")));
        Assert.Equal(0d, scrape.Value("fastproxy_rate_limit_store_breaker_open", ("policy", "limit")));

        redis.Kill();
        // Mid-run: 300 requests from 8 clients, none fails; /low lets everything through while the store is away.
        int next = -1;
        var statuses = new HttpStatusCode[300];
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < statuses.Length)
            {
                statuses[i] = (await GetAsync(client, port, i % 10 == 0 ? "/low" : "/")).Status;
            }
        })));
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        await Wait.UntilAsync(() => proxy.StdErr.Contains("store unavailable"), "the breaker's warning");

        // With the breaker open no request waits for Redis: 200 in a row, a generous bound (one 100 ms timeout each would be 20 s).
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 200; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, port, "/")).Status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"200 requests took {watch.Elapsed}");
        // Every request of both policies while Redis was away is a store error; the breaker reads open.
        scrape = await Observability.MetricsScrape.FetchAsync(admin);
        Assert.Equal(30d, scrape.Value("fastproxy_rate_limit_store_errors_total", ("policy", "low")));
        Assert.Equal(270d + 200, scrape.Value("fastproxy_rate_limit_store_errors_total", ("policy", "limit")));
        Assert.Equal(1d, scrape.Value("fastproxy_rate_limit_store_breaker_open", ("policy", "limit")));

        await redis.RestartAsync();
        // Enforced again within seconds: /low refuses its fourth request a minute on the fresh Redis.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        bool limited = false;
        while (!limited && DateTime.UtcNow < deadline)
        {
            limited = (await GetAsync(client, port, "/low")).Status == HttpStatusCode.TooManyRequests;
            if (!limited) await Task.Delay(100);
        }
        Assert.True(limited, "no 429 within 15 s of Redis's return");
        await Wait.UntilAsync(() => proxy.StdErr.Contains("answering again"), "the breaker's recovery line");
        // One warning per change of state, not one per request.
        Assert.Equal(1, Count(proxy.StdErr, "store unavailable"));
        Assert.Equal(1, Count(proxy.StdErr, "answering again"));
        scrape = await Observability.MetricsScrape.FetchAsync(admin);
        Assert.Equal(0d, scrape.Value("fastproxy_rate_limit_store_breaker_open", ("policy", "limit")));
    }

    [Fact]
    public async Task Stalled_redis_with_deny_answers_503_without_a_timeout_per_request_and_recovers()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        int port = ProxyProcess.FreePort();
        await using var proxy = await StartAsync(Config(port, origin.Port, redis.Port, "rate = \"100000/m\"\non_store_error = \"deny\"", "timeout = \"200ms\""));
        using var client = Client();
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, port, "/")).Status);

        await redis.FreezeAsync();
        int before = origin.Requests.Count;
        // The first ones wait their 200 ms and get 503; three in a row open the breaker.
        for (int i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync(client, port, "/")).Status);
        await Wait.UntilAsync(() => proxy.StdErr.Contains("store unavailable"), "the breaker's warning");
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 100; i++) Assert.Equal(HttpStatusCode.ServiceUnavailable, (await GetAsync(client, port, "/", h2: i % 2 == 0)).Status);
        // 100 timeouts would be 20 s; with the breaker open only the probe (one a second) waits.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), $"100 requests took {watch.Elapsed}");
        Assert.Equal(before, origin.Requests.Count);

        await redis.ThawAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        HttpStatusCode status = HttpStatusCode.ServiceUnavailable;
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            status = (await GetAsync(client, port, "/")).Status;
            if (status != HttpStatusCode.OK) await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task A_daily_quota_per_consumer_plan_is_kept_in_redis_and_survives_a_restart_of_the_proxy()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        int port = ProxyProcess.FreePort();
        string toml = $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"

            [[routes]]
            upstream = "app"
            policies = ["keys", "quota"]

            [upstreams.app]
            servers = [{ address = "127.0.0.1:{{origin.Port}}" }]

            [redis]
            address = "127.0.0.1:{{redis.Port}}"
            timeout = "2s"

            [consumers.alice]
            api_keys = ["sha256:{{AliceDigest}}"]
            plan = "free"

            [consumers.bob]
            api_keys = ["sha256:{{BobDigest}}"]
            plan = "gold"

            [policies.keys]
            type = "api_key"

            [policies.quota]
            type = "rate_limit"
            key = "consumer"
            rate = "1000/m"
            plans = { free = "3/d", gold = "5/d" }
            store = "redis"
            on_store_error = "deny"
            """;
        using var client = Client();
        var proxy = await StartAsync(toml);
        try
        {
            for (int i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, port, "/", apiKey: AliceKey)).Status);
            var refused = await GetAsync(client, port, "/", h2: true, apiKey: AliceKey);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
            // 3 a day: the next one in 8 hours (a day / 3), not in a minute.
            Assert.InRange(refused.RetryAfter!.Value.TotalHours, 7.9, 8.01);
            // Plans have their own limits: bob (gold) still has his 5.
            for (int i = 0; i < 5; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, port, "/", apiKey: BobKey)).Status);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAsync(client, port, "/", apiKey: BobKey)).Status);
        }
        finally
        {
            await proxy.DisposeAsync();
        }

        // The quota is in Redis with a TTL of up to a day, so a new proxy process sees it spent.
        var keys = await redis.KeysWithTtlAsync();
        Assert.Equal(2, keys.Count);
        Assert.All(keys, k => Assert.InRange(k.Value, 23 * 3_600_000L, 24 * 3_600_000L));
        proxy = await StartAsync(toml);
        try
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAsync(client, port, "/", apiKey: AliceKey)).Status);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAsync(client, port, "/", h2: true, apiKey: BobKey)).Status);
            Assert.Equal(8, origin.Requests.Count);
        }
        finally
        {
            await proxy.DisposeAsync();
        }
    }

    /// <summary>
    /// A header-keyed limit in Redis keys by the value's SHA-256: a credential sent in the header (an API key here)
    /// never appears in a Redis key name, in clear or in hex, and the limit still holds per value.
    /// </summary>
    [Fact]
    public async Task A_header_keyed_limit_keeps_only_a_digest_of_the_header_value_in_redis()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("ok"));
        int port = ProxyProcess.FreePort();
        const string secret = "sk-live-0123456789abcdef";
        using var client = Client();
        var proxy = await StartAsync($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"

            [[routes]]
            upstream = "app"
            policies = ["per-key"]

            [upstreams.app]
            servers = [{ address = "127.0.0.1:{{origin.Port}}" }]

            [redis]
            address = "127.0.0.1:{{redis.Port}}"
            timeout = "2s"

            [policies.per-key]
            type = "rate_limit"
            key = "header:x-api-key"
            rate = "2/m"
            store = "redis"
            on_store_error = "deny"
            """);
        try
        {
            for (int i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, port, "/", apiKey: secret)).Status);
            Assert.Equal(HttpStatusCode.TooManyRequests, (await GetAsync(client, port, "/", h2: true, apiKey: secret)).Status);
            // Another value is another key (the limit is per value, not per client address).
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, port, "/", apiKey: "another-key")).Status);
        }
        finally
        {
            await proxy.DisposeAsync();
        }
        var keys = await redis.KeysWithTtlAsync();
        Assert.Equal(2, keys.Count);
        string hex = Convert.ToHexStringLower(System.Text.Encoding.ASCII.GetBytes(secret));
        Assert.All(keys, k =>
        {
            Assert.DoesNotContain(secret, k.Key, StringComparison.Ordinal);
            Assert.DoesNotContain(hex, k.Key, StringComparison.Ordinal);
            Assert.DoesNotContain(hex[..16], k.Key, StringComparison.Ordinal);
        });
    }

    private static int Count(string text, string what)
    {
        int count = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
