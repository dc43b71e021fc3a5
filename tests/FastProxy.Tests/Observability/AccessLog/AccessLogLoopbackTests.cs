using System.Text.Json;
using System.Text.RegularExpressions;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Observability.AccessLog;

/// <summary>
/// The access log end to end: curl through an in-process proxy in front of a raw origin, then the file's lines read
/// back (JSON parsed with System.Text.Json). Fields, the combined layout, the flags of the proxy's own answers,
/// credentials kept out, reload.
/// </summary>
public sealed partial class AccessLogLoopbackTests
{
    private static string Config(int origin, string extraTop = "", string routePolicies = "[]", string upstream = "") => $$"""
        {{extraTop}}
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = {{routePolicies}}
        [routes.match]
        path_prefix = "/app"

        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{origin}}" } ]
        {{upstream}}
        """;

    private const string Keys = $$"""

        [consumers.alice]
        api_keys = ["sha256:{{"ALICE"}}"]

        [policies.keys]
        type = "api_key"
        query = "api_key"

        """;

    private static string KeysSection => Keys.Replace("ALICE", AliceDigest);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_proxied_request_is_one_json_line_with_every_field(bool h2)
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start(Config(origin.Port, log.Section()));

        var answer = await CurlAnswer.GetAsync(h2, proxy.Url("/app/items?page=2&sort=asc").ToString(), "User-Agent: test-agent/1.0", "X-Request-Id: req-42");
        Assert.Equal(200, answer.Status);

        var line = Assert.Single(await log.WaitForJsonAsync(1));
        Assert.Equal(["time", "client_ip", "method", "host", "path", "protocol", "status", "bytes_in", "bytes_out", "duration_ms",
            "upstream", "server", "upstream_ms", "route", "consumer", "request_id", "user_agent", "flags"],
            line.EnumerateObject().Select(p => p.Name));
        Assert.InRange(DateTime.Parse(line.GetProperty("time").GetString()!, null, System.Globalization.DateTimeStyles.RoundtripKind),
            DateTime.UtcNow.AddMinutes(-1), DateTime.UtcNow.AddMinutes(1));
        Assert.Equal("127.0.0.1", line.GetProperty("client_ip").GetString());
        Assert.Equal("GET", line.GetProperty("method").GetString());
        Assert.Equal($"127.0.0.1:{proxy.Port()}", line.GetProperty("host").GetString());
        Assert.Equal("/app/items?page=2&sort=asc", line.GetProperty("path").GetString());
        Assert.Equal(h2 ? "HTTP/2.0" : "HTTP/1.1", line.GetProperty("protocol").GetString());
        Assert.Equal(200, line.GetProperty("status").GetInt32());
        Assert.True(line.GetProperty("bytes_in").GetInt64() > 20);
        // The origin's whole answer: its head and the 5-byte body.
        Assert.True(line.GetProperty("bytes_out").GetInt64() > 5);
        Assert.True(line.GetProperty("duration_ms").GetDouble() >= 0);
        Assert.Equal("app", line.GetProperty("upstream").GetString());
        Assert.Equal($"127.0.0.1:{origin.Port}", line.GetProperty("server").GetString());
        Assert.True(line.GetProperty("upstream_ms").GetDouble() >= 0);
        Assert.True(line.GetProperty("upstream_ms").GetDouble() <= line.GetProperty("duration_ms").GetDouble());
        Assert.Equal("app", line.GetProperty("route").GetString());
        Assert.Equal(JsonValueKind.Null, line.GetProperty("consumer").ValueKind);
        Assert.Equal("test-agent/1.0", line.GetProperty("user_agent").GetString());
        Assert.Empty(line.GetProperty("flags").EnumerateArray());
    }

    [GeneratedRegex("""^(\S+) - - \[(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$""")]
    private static partial Regex NginxCombined();

    [Fact]
    public async Task The_combined_format_is_nginxs_layout()
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start(Config(origin.Port, log.Section("combined")));

        await CurlAnswer.GetAsync(false, proxy.Url("/app/x?y=1").ToString(), "User-Agent: agent \"quoted\"", "Referer: http://example.test/from");
        await CurlAnswer.GetAsync(false, proxy.Url("/nothing-here").ToString());

        var lines = await log.WaitForLinesAsync(2);
        var first = NginxCombined().Match(lines[0]);
        Assert.True(first.Success, lines[0]);
        Assert.Equal("127.0.0.1", first.Groups[1].Value);
        Assert.Equal("GET /app/x?y=1 HTTP/1.1", first.Groups[8].Value);
        Assert.Equal("200", first.Groups[9].Value);
        Assert.Equal("http://example.test/from", first.Groups[11].Value);
        // nginx escapes a quote as \x22.
        Assert.Equal("agent \\x22quoted\\x22", first.Groups[12].Value);
        var second = NginxCombined().Match(lines[1]);
        Assert.True(second.Success, lines[1]);
        Assert.Equal("404", second.Groups[9].Value);
        Assert.Equal("-", second.Groups[11].Value);
    }

    [Fact]
    public async Task The_proxys_own_answers_carry_their_flag()
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        // Never answers: the proxy's response_timeout answers 504.
        await using var silent = new RawUpstream(parse: false);
        int closed = ProxyProcess.FreePort();
        var toml = Config(origin.Port, log.Section(), routePolicies: "[\"keys\"]") + KeysSection + $$"""

            [[routes]]
            name = "down"
            upstream = "down"
            [routes.match]
            path_prefix = "/down"

            [upstreams.down]
            servers = [ { address = "127.0.0.1:{{closed}}" } ]

            [[routes]]
            name = "slow"
            upstream = "slow"
            [routes.match]
            path_prefix = "/slow"

            [upstreams.slow]
            servers = [ { address = "127.0.0.1:{{silent.Port}}" } ]
            response_timeout = "200ms"
            """;
        await using var proxy = TestProxy.Start(toml);

        var expected = new (string Path, int Status, string Flag)[]
        {
            ("/elsewhere", 404, "no_route"),
            ("/app/needs-a-key", 401, "auth_refused"),
            ("/down/x", 502, "upstream_connect_failed"),
            ("/slow/x", 504, "upstream_timeout"),
        };
        foreach (var (path, status, _) in expected)
        {
            var answer = await CurlAnswer.GetAsync(false, proxy.Url(path).ToString());
            Assert.Equal(status, answer.Status);
        }

        var lines = await log.WaitForJsonAsync(expected.Length);
        foreach (var (path, status, flag) in expected)
        {
            var line = Assert.Single(lines, l => l.GetProperty("path").GetString() == path);
            Assert.Equal(status, line.GetProperty("status").GetInt32());
            Assert.Contains(flag, line.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        }
        // The refusal names the policy's answer too, and no upstream was reached for it.
        var refused = Assert.Single(lines, l => l.GetProperty("status").GetInt32() == 401);
        Assert.Contains("policy_answer", refused.GetProperty("flags").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(JsonValueKind.Null, refused.GetProperty("upstream_ms").ValueKind);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Credentials_never_reach_the_log(bool h2)
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start(Config(origin.Port, log.Section(extra: "redact_query = [\"sig\"]"), routePolicies: "[\"keys\"]") + KeysSection);

        var ok = await CurlAnswer.GetAsync(h2, proxy.Url($"/app/a?page=1&api_key={AliceKey}&sig=s1gn4ture").ToString(),
            "Authorization: Bearer super-secret-token-value");
        Assert.Equal(200, ok.Status);
        var refused = await CurlAnswer.GetAsync(h2, proxy.Url("/app/b?api_key=wrong-key-value").ToString());
        Assert.Equal(401, refused.Status);

        var lines = await log.WaitForLinesAsync(2);
        var text = string.Join("\n", lines);
        Assert.DoesNotContain(AliceKey, text);
        Assert.DoesNotContain("wrong-key-value", text);
        Assert.DoesNotContain("s1gn4ture", text);
        Assert.DoesNotContain("super-secret-token-value", text);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal("/app/a?page=1&api_key=REDACTED&sig=REDACTED", first.GetProperty("path").GetString());
        Assert.Equal("alice", first.GetProperty("consumer").GetString());
        Assert.Equal("/app/b?api_key=REDACTED", JsonDocument.Parse(lines[1]).RootElement.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Lines_and_drops_are_counted_in_metrics()
    {
        using var log = new AccessLogFile();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start(Config(origin.Port, log.Section() + "\n[admin]\nbind = \"127.0.0.1:0\"\n"));

        await CurlAnswer.GetAsync(false, proxy.Url("/app/counted").ToString());
        await log.WaitForLinesAsync(1);
        var scrape = await MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);

        // Process-wide counters (other tests may log at the same time): at least this test's line, and a drop series.
        Assert.True(scrape.Value("fastproxy_access_log_lines_total") >= 1, scrape.Text);
        Assert.NotNull(scrape.Value("fastproxy_access_log_dropped_total"));
    }

    [Fact]
    public async Task A_reload_turns_the_log_on_moves_it_and_turns_it_off()
    {
        using var log = new AccessLogFile();
        string moved = Path.Combine(log.Directory, "moved.log");
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("hello"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await CurlAnswer.GetAsync(false, proxy.Url("/app/before").ToString());
        proxy.Reload(Config(origin.Port, log.Section()));
        await CurlAnswer.GetAsync(false, proxy.Url("/app/on").ToString());
        Assert.Equal("/app/on", (await log.WaitForJsonAsync(1)).Single().GetProperty("path").GetString());

        proxy.Reload(Config(origin.Port, log.Section().Replace(log.Path, moved).Replace("\"json\"", "\"combined\"")));
        await CurlAnswer.GetAsync(false, proxy.Url("/app/moved").ToString());
        Assert.Contains("\"GET /app/moved HTTP/1.1\" 200", Assert.Single(await log.WaitForLinesAsync(1, moved)));

        proxy.Reload(Config(origin.Port));
        await CurlAnswer.GetAsync(false, proxy.Url("/app/off").ToString());
        // The request after "off" is answered; give a line every chance to appear, then check none did.
        await Task.Delay(300);
        Assert.Single(log.Lines());
        Assert.Single(log.Lines(moved));
    }
}
