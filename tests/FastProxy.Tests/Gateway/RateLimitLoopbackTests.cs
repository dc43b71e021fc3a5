using System.Diagnostics;
using System.Net;
using System.Net.Http;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// rate_limit in a running proxy in front of a counting origin: many concurrent clients against one limit, curl over
/// HTTP/1.1 and h2c counting alike, keys by client address, consumer (api_key) with plans and header, and a reload.
/// </summary>
public sealed class RateLimitLoopbackTests
{
    private static string Config(int origin, string policy, string policies = "\"rl\"", string extra = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = [{{policies}}]

        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{origin}}" } ]

        [policies.rl]
        type = "rate_limit"
        {{policy}}

        {{extra}}
        """;

    private static RawUpstream Origin() => new(r => RawUpstream.Ok("from-origin"));

    [Fact]
    public async Task A_thousand_concurrent_requests_against_100_per_minute_admit_100_and_refuse_the_rest_with_retry_after()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port, "rate = \"100/m\""));
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var url = proxy.Url("/x");
        var watch = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 1000).Select(async _ =>
        {
            using var response = await client.GetAsync(url);
            return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, RateLimit: response.Headers.TryGetValues("RateLimit", out var v) ? v.Single() : null);
        })).WaitAsync(TimeSpan.FromSeconds(60));
        var elapsed = watch.Elapsed;

        int admitted = answers.Count(a => a.StatusCode == HttpStatusCode.OK);
        int refused = answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(1000, admitted + refused);
        // GCRA: the burst of 100 at once, then one more every 600 ms the run lasted (none when it took under 600 ms).
        int refills = (int)(elapsed.Ticks / TimeSpan.FromMilliseconds(600).Ticks);
        Assert.InRange(admitted, 100, 100 + refills);
        Assert.Equal(admitted, origin.Requests.Count);
        // The next request fits in at most 600 ms: Retry-After rounds it up to one second.
        Assert.All(answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests), a =>
        {
            Assert.Equal(TimeSpan.FromSeconds(1), a.RetryAfter);
            Assert.Matches("^\"rl\";r=0;t=1$", a.RateLimit);
        });
        Assert.All(answers.Where(a => a.StatusCode == HttpStatusCode.OK), a => Assert.Matches("^\"rl\";r=\\d+;t=\\d+$", a.RateLimit));
    }

    [Fact]
    public async Task Http2_requests_count_like_http11_ones()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port, "rate = \"4/h\""));
        var url = proxy.Url("/x").ToString();
        var statuses = new List<int>();
        foreach (bool h2 in new[] { false, true, false, true })
        {
            var answer = await CurlAsync(h2, url);
            Assert.Equal(200, answer.Status);
            Assert.Equal(["\"rl\";q=4;w=3600"], answer.Values("ratelimit-policy"));
        }
        foreach (bool h2 in new[] { true, false })
        {
            var refused = await CurlAsync(h2, url);
            Assert.Equal(429, refused.Status);
            // One request every 900 s: the next fits 900 s after the first, less the time the test took so far.
            int retry = int.Parse(Assert.Single(refused.Values("retry-after")));
            Assert.InRange(retry, 800, 900);
            Assert.Equal([$"\"rl\";r=0;t={retry}"], refused.Values("ratelimit"));
            Assert.Equal("429 Too Many Requests\n", refused.Body);
        }
        Assert.Equal(4, origin.Requests.Count);
    }

    [Fact]
    public async Task Client_addresses_have_their_own_budgets()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port, "rate = \"2/h\""));
        var url = proxy.Url("/x").ToString();
        foreach (var from in new[] { "127.0.0.1", "127.0.0.2" })
        {
            Assert.Equal(200, (await CurlAsync(false, url, from)).Status);
            Assert.Equal(200, (await CurlAsync(true, url, from)).Status);
            Assert.Equal(429, (await CurlAsync(false, url, from)).Status);
        }
        Assert.Equal(4, origin.Requests.Count);
    }

    [Fact]
    public async Task Consumers_from_api_keys_get_their_plans_and_anonymous_clients_the_default()
    {
        await using var origin = Origin();
        string extra = $$"""
            [consumers.alice]
            api_keys = ["sha256:{{AliceDigest}}"]
            plan = "gold"

            [consumers.bob]
            api_keys = ["sha256:{{BobDigest}}"]
            plan = "free"

            [policies.keys]
            type = "api_key"
            """;
        // Anonymous requests are refused by api_key before they are counted; the consumer key gives each its plan.
        await using var proxy = TestProxy.Start(Config(origin.Port, "rate = \"1/h\"\nkey = \"consumer\"\nplans = { gold = \"5/h\", free = \"2/h\" }",
            policies: "\"keys\", \"rl\"", extra: extra));
        var url = proxy.Url("/x").ToString();
        async Task<int> Admitted(string key, int tries)
        {
            int ok = 0;
            for (int i = 0; i < tries; i++)
            {
                var answer = await CurlAsync(i % 2 == 1, url, null, "-H", "x-api-key: " + key);
                if (answer.Status == 200) ok++;
                else Assert.Equal(429, answer.Status);
            }
            return ok;
        }
        Assert.Equal(5, await Admitted(AliceKey, 7));
        Assert.Equal(2, await Admitted(BobKey, 4));
        var gold = await CurlAsync(false, url, null, "-H", "x-api-key: " + AliceKey);
        Assert.Equal(["\"rl.gold\";q=5;w=3600"], gold.Values("ratelimit-policy"));
        Assert.Equal(7, origin.Requests.Count);
    }

    [Fact]
    public async Task A_header_key_separates_tenants_and_a_reload_that_keeps_the_rule_keeps_the_counts()
    {
        await using var origin = Origin();
        string config = Config(origin.Port, "rate = \"2/h\"\nkey = \"header:x-tenant\"");
        await using var proxy = TestProxy.Start(config);
        var url = proxy.Url("/x").ToString();
        foreach (var tenant in new[] { "one", "two" })
        {
            Assert.Equal(200, (await CurlAsync(false, url, null, "-H", "x-tenant: " + tenant)).Status);
            Assert.Equal(200, (await CurlAsync(true, url, null, "-H", "x-tenant: " + tenant)).Status);
            Assert.Equal(429, (await CurlAsync(false, url, null, "-H", "x-tenant: " + tenant)).Status);
        }
        proxy.Reload(config.Replace("rate = \"2/h\"", "rate = \"2/h\"\nlegacy_headers = true"));
        var still = await CurlAsync(true, url, null, "-H", "x-tenant: one");
        Assert.Equal(429, still.Status);
        Assert.Equal(["2"], still.Values("x-ratelimit-limit"));
        // A new rule starts afresh.
        proxy.Reload(config.Replace("rate = \"2/h\"", "rate = \"3/h\""));
        Assert.Equal(200, (await CurlAsync(false, url, null, "-H", "x-tenant: one")).Status);
        Assert.Equal(5, origin.Requests.Count);
    }
}
