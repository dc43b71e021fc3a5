using System.Net;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Observability;

/// <summary>
/// /metrics on the admin listener, after real traffic over loopback (raw sockets, curl over HTTP/1.1 and h2c): every
/// scrape passes `promtool check metrics`, and the counts are exact (N requests are N, not "some").
/// </summary>
public sealed class MetricsTests
{
    private const string Admin = """
        [admin]
        bind = "127.0.0.1:0"
        """;

    private static (string, string) L(string name, string value) => (name, value);

    private static Task<MetricsScrape> ScrapeAsync(TestProxy proxy) => MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);

    [Fact]
    public async Task Requests_count_exactly_by_route_method_and_status_class_with_durations_bytes_and_upstream_times()
    {
        await using var origin = new RawUpstream(r => r.RequestLine.StartsWith("GET /missing", StringComparison.Ordinal) ? RawUpstream.Status(404) : RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));

        var before = await ScrapeAsync(proxy);
        Assert.Equal(0, before.Sum("fastproxy_requests_total"));
        using (var client = new WireClient(proxy.Port()))
        {
            for (int i = 0; i < 7; i++) Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
            for (int i = 0; i < 3; i++) Assert.Equal(200, (await client.RoundTripAsync("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")).Status);
            Assert.Equal(404, (await client.RoundTripAsync("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        }
        var m = await ScrapeAsync(proxy);

        var route = new[] { L("listener", "web"), L("route", "app"), L("upstream", "app") };
        Assert.Equal(7, m.Value("fastproxy_requests_total", [.. route, L("method", "GET"), L("code", "2xx")]));
        Assert.Equal(3, m.Value("fastproxy_requests_total", [.. route, L("method", "POST"), L("code", "2xx")]));
        Assert.Equal(1, m.Value("fastproxy_requests_total", [.. route, L("method", "GET"), L("code", "4xx")]));
        Assert.Equal(11, m.Sum("fastproxy_requests_total"));
        Assert.Equal(11, m.Value("fastproxy_request_duration_seconds_count", L("listener", "web"), L("route", "app")));
        Assert.Equal(11, m.Value("fastproxy_request_duration_seconds_bucket", L("listener", "web"), L("route", "app"), L("le", "+Inf")));
        Assert.True(m.Value("fastproxy_request_duration_seconds_sum", L("listener", "web"), L("route", "app")) > 0);
        Assert.Equal(11, m.Value("fastproxy_upstream_response_seconds_count", L("upstream", "app")));
        // Buckets are cumulative: never decreasing up to +Inf.
        double last = 0;
        foreach (var le in new[] { "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf" })
        {
            double bucket = m.Value("fastproxy_upstream_response_seconds_bucket", L("upstream", "app"), L("le", le)) ?? -1;
            Assert.True(bucket >= last, $"bucket {le}: {bucket} < {last}");
            last = bucket;
        }
        // Bytes in: 7 GET heads, 3 POST heads with their 4-byte bodies, the 404's head (as sent).
        long expectedIn = 7 * "GET / HTTP/1.1\r\nHost: x\r\n\r\n".Length + 3 * ("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n".Length + 4)
            + "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n".Length;
        Assert.Equal(expectedIn, m.Value("fastproxy_request_bytes_total", L("listener", "web")));
        Assert.True(m.Value("fastproxy_response_bytes_total", L("listener", "web")) > 11 * "HTTP/1.1 200 OK\r\n".Length);
        Assert.Equal(1, m.Value("fastproxy_build_info", L("version", FastProxy.Program.Version)));
        Assert.InRange(m.Value("fastproxy_process_start_time_seconds")!.Value,
            DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 24 * 3600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
    }

    [Fact]
    public async Task An_unrouted_request_counts_under_an_empty_route_and_a_respond_route_under_its_name()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start($$"""
            {{Admin}}
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "api"
            upstream = "app"
            [routes.match]
            path_prefix = "/api"

            [[routes]]
            name = "hi"
            respond = { status = 200, body = "hi" }
            [routes.match]
            path = "/hi"

            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{origin.Port}}" } ]
            """);
        using (var client = new WireClient(proxy.Port()))
        {
            Assert.Equal(404, (await client.RoundTripAsync("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
            Assert.Equal(404, (await client.RoundTripAsync("DELETE /nope HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
            Assert.Equal(200, (await client.RoundTripAsync("GET /hi HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
            Assert.Equal(200, (await client.RoundTripAsync("PROPFIND /api/x HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        }
        var m = await ScrapeAsync(proxy);

        Assert.Equal(1, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", ""), L("upstream", ""), L("method", "GET"), L("code", "4xx")));
        Assert.Equal(1, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", ""), L("upstream", ""), L("method", "DELETE"), L("code", "4xx")));
        Assert.Equal(1, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "hi"), L("upstream", ""), L("method", "GET"), L("code", "2xx")));
        // A method outside the nine standard ones is "other" (the label set stays bounded).
        Assert.Equal(1, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "api"), L("upstream", "app"), L("method", "other"), L("code", "2xx")));
        Assert.Equal(4, m.Sum("fastproxy_requests_total"));
    }

    [Fact]
    public async Task A_malformed_request_refused_by_the_proxy_counts_as_4xx()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));
        using (var client = new WireClient(proxy.Port()))
        {
            Assert.Equal(400, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")).Status);
        }
        var m = await ScrapeAsync(proxy);
        Assert.Equal(1, m.Sum("fastproxy_requests_total", L("code", "4xx")));
        Assert.Empty(origin.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_policy_refusal_counts_in_policy_rejections_and_per_consumer_requests(bool h2)
    {
        // Policy names are process-wide counters (they survive reloads): a name of this test's own.
        string policy = "metrics_keys_" + (h2 ? "h2" : "h1");
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("from-origin"));
        await using var proxy = TestProxy.Start($$"""
            {{Admin}}
            [metrics]
            per_consumer = true

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "app"
            upstream = "app"
            policies = ["{{policy}}"]

            [upstreams.app]
            servers = [ { address = "127.0.0.1:{{origin.Port}}" } ]

            [consumers.alice]
            api_keys = ["sha256:{{AliceDigest}}"]

            [consumers.bob]
            api_keys = ["sha256:{{BobDigest}}"]

            [policies.{{policy}}]
            type = "api_key"
            """);
        var before = await ScrapeAsync(proxy);
        double missingBefore = before.Sum("fastproxy_policy_rejections_total", L("policy", policy), L("type", "api_key"), L("reason", "missing"));

        string url = proxy.Url("/orders").ToString();
        string[] proto = h2 ? ["--http2-prior-knowledge"] : ["--http1.1"];
        var refused = await Processes.CurlAsync([.. proto, "-o", "/dev/null", "-w", "%{http_code}", url]);
        Assert.Equal("401", refused.StdOut);
        for (int i = 0; i < 3; i++)
        {
            var ok = await Processes.CurlAsync([.. proto, "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Api-Key: " + AliceKey, url]);
            Assert.Equal("200", ok.StdOut);
        }
        var m = await ScrapeAsync(proxy);

        Assert.Equal(missingBefore + 1, m.Value("fastproxy_policy_rejections_total", L("policy", policy), L("type", "api_key"), L("reason", "missing")));
        Assert.Equal(1, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "4xx")));
        Assert.Equal(3, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "2xx")));
        Assert.Equal(3, m.Value("fastproxy_consumer_requests_total", L("consumer", "alice"), L("code", "2xx")));
        // bob sent nothing: no series (declared consumers bound the label set; an absent series reads as 0).
        Assert.Null(m.Value("fastproxy_consumer_requests_total", L("consumer", "bob"), L("code", "2xx")));
        Assert.Equal(3, origin.Requests.Count);
    }

    [Fact]
    public async Task Per_consumer_series_are_absent_unless_asked_for()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));
        var m = await ScrapeAsync(proxy);
        Assert.False(m.HasFamily("fastproxy_consumer_requests_total"));
        Assert.True(m.HasFamily("fastproxy_requests_total"));
    }

    [Fact]
    public async Task Http2_requests_count_like_http1_ones_and_the_connection_counts_as_h2()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));
        string url = proxy.Url("/x").ToString();
        // h2load: five streams on one h2c connection (prior knowledge).
        var result = await Processes.RunAsync("h2load", ["-n", "5", "-c", "1", url], TimeSpan.FromSeconds(30));
        Assert.Contains("5 succeeded", result.StdOut);
        Assert.Contains("5 2xx", result.StdOut);
        var m = await ScrapeAsync(proxy);

        Assert.Equal(5, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "2xx")));
        Assert.Equal(5, m.Value("fastproxy_request_duration_seconds_count", L("listener", "web"), L("route", "app")));
        Assert.Equal(1, m.Value("fastproxy_connections_total", L("listener", "web"), L("protocol", "h2"), L("tls", "false")));
        // It started as a plain connection and was counted as h2 once its preface arrived, not as both.
        Assert.Null(m.Value("fastproxy_connections_total", L("listener", "web"), L("protocol", "http1"), L("tls", "false")));
        await MetricsScrape.UntilAsync(proxy.Host.AdminEndPoint!, s => s.Value("fastproxy_open_connections", L("listener", "web"), L("protocol", "h2"), L("tls", "false")) == 0,
            "the h2 connection to be counted closed");
    }

    [Fact]
    public async Task An_open_keep_alive_connection_is_counted_until_it_closes()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin));
        var open = new[] { L("listener", "web"), L("protocol", "http1"), L("tls", "false") };
        using (var client = new WireClient(proxy.Port()))
        {
            Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
            using var second = new WireClient(proxy.Port());
            Assert.Equal(200, (await second.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
            var m = await ScrapeAsync(proxy);
            Assert.Equal(2, m.Value("fastproxy_open_connections", open));
            Assert.Equal(2, m.Value("fastproxy_connections_total", open));
        }
        // Both closed by the client: the proxy sees the close and counts it (bounded wait, no sleep).
        await MetricsScrape.UntilAsync(proxy.Host.AdminEndPoint!, s => s.Value("fastproxy_open_connections", open) == 0, "connections counted closed");
        var after = await ScrapeAsync(proxy);
        Assert.Equal(2, after.Value("fastproxy_connections_total", open));
    }

    [Fact]
    public async Task Reloads_count_by_outcome_and_a_kept_route_keeps_its_counts()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        string config = TestProxy.SimpleConfig([origin.Port], extraTop: Admin);
        await using var proxy = TestProxy.Start(config);
        using (var client = new WireClient(proxy.Port()))
        {
            for (int i = 0; i < 4; i++) await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        }

        // Refused: the new listener's port is taken (the old configuration keeps serving).
        using var taken = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        Assert.ThrowsAny<Exception>(() => proxy.Reload(config + $$"""

            [[listeners]]
            name = "other"
            bind = "127.0.0.1:{{((IPEndPoint)taken.LocalEndPoint!).Port}}"
            """));
        var m = await ScrapeAsync(proxy);
        Assert.Equal(1, m.Value("fastproxy_config_reloads_total", L("outcome", "refused")));
        Assert.Equal(0, m.Value("fastproxy_config_reloads_total", L("outcome", "ok")));
        Assert.NotNull(m.Value("fastproxy_config_last_reload_timestamp_seconds", L("outcome", "refused")));
        Assert.Null(m.Value("fastproxy_config_last_reload_timestamp_seconds", L("outcome", "ok")));

        // Accepted: route "app" is kept (its 4 requests stay), route "extra" is new.
        proxy.Reload(config.Replace("[[routes]]\nname = \"app\"", """
            [[routes]]
            name = "extra"
            respond = { status = 204 }
            [routes.match]
            path = "/extra"

            [[routes]]
            name = "app"
            """));
        using (var client = new WireClient(proxy.Port()))
        {
            await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            Assert.Equal(204, (await client.RoundTripAsync("GET /extra HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        }
        m = await ScrapeAsync(proxy);
        Assert.Equal(1, m.Value("fastproxy_config_reloads_total", L("outcome", "ok")));
        Assert.Equal(1, m.Value("fastproxy_config_reloads_total", L("outcome", "refused")));
        Assert.Equal(5, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "2xx")));
        Assert.Equal(1, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "extra"), L("upstream", ""), L("method", "GET"), L("code", "2xx")));

        // Removed again: its series is no longer exported.
        proxy.Reload(config);
        m = await ScrapeAsync(proxy);
        Assert.DoesNotContain(m.LabelSets("fastproxy_request_duration_seconds_count"), l => l["route"] == "extra");
        Assert.Equal(5, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "2xx")));
    }

    [Fact]
    public async Task A_server_that_fails_its_checks_shows_up_0_and_the_healthy_one_up_1()
    {
        await using var healthy = new RawUpstream(_ => RawUpstream.Ok("ok"));
        int dead = ProxyProcess.FreePort();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([healthy.Port, dead], extraTop: Admin, extraUpstream: """
            [upstreams.app.health]
            type = "tcp"
            interval = "100ms"
            timeout = "500ms"
            unhealthy = 1
            healthy = 1
            """));
        var server = new[] { L("upstream", "app"), L("server", $"127.0.0.1:{dead}") };
        await MetricsScrape.UntilAsync(proxy.Host.AdminEndPoint!, s => s.Value("fastproxy_upstream_server_up", server) == 0, "the dead server to be down");
        var m = await ScrapeAsync(proxy);
        Assert.Equal(1, m.Value("fastproxy_upstream_server_up", L("upstream", "app"), L("server", $"127.0.0.1:{healthy.Port}")));
        Assert.Equal(0, m.Value("fastproxy_upstream_server_ejections_total", server));
        Assert.Equal(0, m.Value("fastproxy_upstream_server_active_requests", server));
    }

    [Fact]
    public async Task Circuit_breaker_rejections_and_active_requests_count()
    {
        var release = new TaskCompletionSource();
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: Admin, extraUpstream: """
            [upstreams.app.limits]
            max_requests = 1
            """));
        using var first = new WireClient(proxy.Port());
        var held = first.RoundTripAsync("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
        await origin.WaitForRequestsAsync(1);
        using (var other = new WireClient(proxy.Port()))
        {
            for (int i = 0; i < 2; i++) Assert.Equal(503, (await other.RoundTripAsync("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        }
        var m = await ScrapeAsync(proxy);
        release.SetResult();
        Assert.Equal(200, (await held).Status);

        Assert.Equal(2, m.Value("fastproxy_circuit_breaker_rejections_total", L("upstream", "app")));
        Assert.Equal(1, m.Value("fastproxy_upstream_server_active_requests", L("upstream", "app"), L("server", $"127.0.0.1:{origin.Port}")));
        Assert.Equal(2, m.Value("fastproxy_requests_total", L("listener", "web"), L("route", "app"), L("upstream", "app"), L("method", "GET"), L("code", "5xx")));
        Assert.Equal(0, m.Value("fastproxy_retries_total", L("upstream", "app")));
    }

    [Fact]
    public async Task Without_an_admin_listener_nothing_is_recorded()
    {
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("a"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());
        Assert.Equal(200, (await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n")).Status);
        Assert.False(proxy.Host.Services.Observability.Enabled);
        Assert.False(proxy.Host.Services.Metrics.Enabled);
    }
}
