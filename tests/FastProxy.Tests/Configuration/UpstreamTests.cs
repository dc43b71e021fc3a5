using System.Net;
using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

public class UpstreamTests
{
    // The upstream under test starts on line 8, its first key on line 9.
    private const string Head = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        upstream = "api"


        """;

    [Fact]
    public void FullUpstream_IsRead()
    {
        var config = ConfigText.Load(Head + """
            [upstreams.api]
            balance = "weighted"
            servers = [
              { address = "127.0.0.1:9001", weight = 3 },
              { address = "[::1]:9002" },
              { address = "app.internal:9003" },
              "localhost:9004",
            ]
            protocol = "h2c"
            connect_timeout = "1s500ms"
            response_timeout = "2m"
            read_timeout = "20s"
            request_timeout = "5m"
            max_idle_per_server = 0

            [upstreams.api.health]
            type = "http"
            path = "/healthz?deep=1"
            method = "head"
            interval = "5s"
            timeout = "1s"
            unhealthy = 2
            healthy = 1
            expect = "200-204"

            [upstreams.api.passive]
            consecutive_failures = 3
            eject = "10s"
            max_ejected_percent = 100

            [upstreams.api.retry]
            attempts = 0
            budget_percent = 10

            [upstreams.api.limits]
            max_requests = 50
            max_pending = 5
            """);

        var api = Assert.Single(config.Upstreams);
        Assert.Equal("api", api.Name);
        Assert.Equal(BalanceKind.Weighted, api.Balance);
        Assert.Equal(UpstreamProtocol.H2c, api.Protocol);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), api.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), api.ResponseTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), api.ReadTimeout);
        Assert.Equal(TimeSpan.FromMinutes(5), api.RequestTimeout);
        Assert.Equal(0, api.MaxIdlePerServer);

        Assert.Equal(4, api.Servers.Count);
        Assert.Equal((IPEndPoint.Parse("127.0.0.1:9001"), "127.0.0.1", 3), (api.Servers[0].EndPoint, api.Servers[0].Host, api.Servers[0].Weight));
        Assert.Equal((IPEndPoint.Parse("[::1]:9002"), "[::1]", 1), (api.Servers[1].EndPoint, api.Servers[1].Host, api.Servers[1].Weight));
        Assert.Equal((IPEndPoint.Parse("10.0.0.5:9003"), "app.internal"), (api.Servers[2].EndPoint, api.Servers[2].Host));
        // A name with both families resolves to its IPv4 address, as "127.0.0.1" would.
        Assert.Equal((IPEndPoint.Parse("127.0.0.1:9004"), "localhost", "localhost:9004"), (api.Servers[3].EndPoint, api.Servers[3].Host, api.Servers[3].Address));

        var health = api.Health!;
        Assert.Equal(HealthCheckType.Http, health.Type);
        Assert.Equal("/healthz?deep=1", health.Path);
        Assert.Equal("HEAD", health.Method);
        Assert.Equal(TimeSpan.FromSeconds(5), health.Interval);
        Assert.Equal(TimeSpan.FromSeconds(1), health.Timeout);
        Assert.Equal((2, 1), (health.Unhealthy, health.Healthy));
        Assert.Equal((200, 204), (health.ExpectMin, health.ExpectMax));

        Assert.Equal((3, TimeSpan.FromSeconds(10), 100), (api.Passive!.ConsecutiveFailures, api.Passive.Eject, api.Passive.MaxEjectedPercent));
        Assert.Equal((0, 10), (api.Retry!.Attempts, api.Retry.BudgetPercent));
        Assert.Equal((50, 5), (api.Limits!.MaxRequests, api.Limits.MaxPending));
    }

    [Fact]
    public void Defaults()
    {
        var config = ConfigText.Load(Head + """
            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            """);

        var api = config.Upstreams[0];
        Assert.Equal(BalanceKind.RoundRobin, api.Balance);
        Assert.Equal(UpstreamProtocol.Http1, api.Protocol);
        Assert.False(api.Tls);
        Assert.Equal(TimeSpan.FromSeconds(2), api.ConnectTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), api.ResponseTimeout);
        Assert.Null(api.ReadTimeout);
        Assert.Equal(TimeSpan.Zero, api.RequestTimeout);
        Assert.Null(api.MaxIdlePerServer); // adaptive
        Assert.Equal(1, api.Servers[0].Weight);
        Assert.Null(api.Health);
        Assert.Null(api.Passive);
        Assert.Null(api.Retry);
        Assert.Null(api.Limits);
    }

    [Fact]
    public void UnknownBalance()
    {
        var error = ConfigText.Error(Head + """
            [upstreams.api]
            balance = "roundrobin"
            servers = ["127.0.0.1:9001"]
            """);

        Assert.Equal("proxy.toml:9:11: upstreams.api.balance: unknown balance \"roundrobin\" (known: round_robin, least_conn, ip_hash, weighted, consistent_hash, p2c)", error);
    }

    [Fact]
    public void WeightZero()
    {
        var error = ConfigText.Error(Head + """
            [upstreams.api]
            servers = [{ address = "127.0.0.1:9001", weight = 0 }]
            """);

        Assert.Equal("proxy.toml:9:51: upstreams.api.servers[0].weight: must be at least 1, got 0", error);
    }

    [Fact]
    public void UnresolvableServerHost()
    {
        var error = ConfigText.Error(Head + """
            [upstreams.api]
            servers = [{ address = "no-such-host.invalid:80" }]
            """);

        Assert.Equal("proxy.toml:9:24: upstreams.api.servers[0].address: cannot resolve host \"no-such-host.invalid\": no such host", error);
    }

    [Fact]
    public void UnresolvableServerHost_WithTheRealResolver()
    {
        // RFC 6761: .invalid never resolves. The reason depends on the machine's DNS, so only the start is fixed.
        var result = ConfigLoader.Parse(Head + """
            [upstreams.api]
            servers = [{ address = "no-such-host.invalid:80" }]
            """, "proxy.toml", AppContext.BaseDirectory);

        var error = Assert.Single(result.Errors).ToString();
        Assert.StartsWith("proxy.toml:9:24: upstreams.api.servers[0].address: cannot resolve host \"no-such-host.invalid\": ", error);
    }

    [Theory]
    [InlineData("servers = []", "9:11: upstreams.api.servers: must list at least one server, e.g. [{ address = \"127.0.0.1:9001\" }]")]
    [InlineData("balance = \"least_conn\"", "8:1: upstreams.api: missing required key \"servers\"")]
    [InlineData("servers = [\"127.0.0.1:0\"]", "9:12: upstreams.api.servers[0]: invalid address \"127.0.0.1:0\": the port must be a number from 1 to 65535")]
    [InlineData("servers = [9001]", "9:12: upstreams.api.servers[0]: expected a table { address = \"host:port\" }, got an integer")]
    [InlineData("servers = [{ weight = 2 }]", "9:12: upstreams.api.servers[0]: missing required key \"address\"")]
    public void BadServers(string line, string message)
    {
        var error = ConfigText.Error(Head + $"""
            [upstreams.api]
            {line}
            """);

        Assert.Equal($"proxy.toml:{message}", error);
    }

    [Fact]
    public void DuplicateServer_IsAWarning()
    {
        var config = ConfigText.Load(Head + """
            [upstreams.api]
            servers = ["127.0.0.1:9001", "127.0.0.1:9001"]
            """);

        Assert.Equal(
            ["proxy.toml:9:30: upstreams.api.servers[1].address: 127.0.0.1:9001 is listed twice (also upstreams.api.servers[0]); raise its weight instead"],
            config.Warnings.Select(w => w.ToString()));
    }

    [Theory]
    [InlineData("protocol = \"h2\"", "10:12: upstreams.api.protocol: h2 needs tls = true (for HTTP/2 without TLS use \"h2c\")")]
    [InlineData("sni = \"api.example.com\"", "10:7: upstreams.api.sni: only applies with tls = true")]
    [InlineData("insecure_skip_verify = true", "10:24: upstreams.api.insecure_skip_verify: only applies with tls = true")]
    [InlineData("tls = \"yes\"", "10:7: upstreams.api.tls: expected a boolean (true or false), got a string")]
    [InlineData("connect_timeout = \"0ms\"", "10:19: upstreams.api.connect_timeout: must be greater than 0")]
    [InlineData("read_timeout = \"0s\"", "10:16: upstreams.api.read_timeout: must be greater than 0")]
    [InlineData("request_timeout = \"soon\"", "10:19: upstreams.api.request_timeout: invalid duration \"soon\": expected a whole number with a unit ms, s, m or h, e.g. \"250ms\", \"5s\", \"2m\", \"1h\", or combined as \"1m30s\"")]
    [InlineData("max_idle_per_server = -1", "10:23: upstreams.api.max_idle_per_server: must be at least 0, got -1")]
    [InlineData("interval = \"5s\"", "10:1: upstreams.api.interval: unknown key (it belongs in [upstreams.NAME.health])")]
    [InlineData("request_buffering = \"on\"", "10:21: upstreams.api.request_buffering: expected a boolean (true or false), got a string")]
    public void BadUpstreamSettings(string line, string message)
    {
        var error = ConfigText.Error(Head + $"""
            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            {line}
            """);

        Assert.Equal($"proxy.toml:{message}", error);
    }

    [Fact]
    public void TlsSettings_AndInsecureIsAWarning()
    {
        var config = ConfigText.Load(Head + """
            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            protocol = "h2"
            tls = true
            sni = "API.example.com"
            insecure_skip_verify = true
            """);

        var api = config.Upstreams[0];
        Assert.True(api.Tls);
        Assert.True(api.InsecureSkipVerify);
        Assert.Equal("api.example.com", api.Sni);
        Assert.Equal(
            ["proxy.toml:13:24: upstreams.api.insecure_skip_verify: server certificates are not verified: for development only"],
            config.Warnings.Select(w => w.ToString()));
    }

    [Theory]
    [InlineData("[upstreams.api.health]\nexpect = \"399-200\"", "11:10: upstreams.api.health.expect: invalid status range \"399-200\": expected \"200-399\" or a single status such as \"200\" (100-599)")]
    [InlineData("[upstreams.api.health]\nexpect = \"2xx\"", "11:10: upstreams.api.health.expect: invalid status range \"2xx\": expected \"200-399\" or a single status such as \"200\" (100-599)")]
    [InlineData("[upstreams.api.health]\ntype = \"tcp\"\npath = \"/\"", "12:1: upstreams.api.health.path: only applies to type = \"http\" (a tcp check only connects)")]
    [InlineData("[upstreams.api.health]\ntype = \"udp\"", "11:8: upstreams.api.health.type: unknown health check type \"udp\" (known: http, tcp)")]
    [InlineData("[upstreams.api.health]\nhealthy = 0", "11:11: upstreams.api.health.healthy: must be at least 1, got 0")]
    [InlineData("[upstreams.api.passive]\nmax_ejected_percent = 101", "11:23: upstreams.api.passive.max_ejected_percent: must be between 0 and 100, got 101")]
    [InlineData("[upstreams.api.retry]\nbudget_percent = -1", "11:18: upstreams.api.retry.budget_percent: must be between 0 and 100, got -1")]
    [InlineData("[upstreams.api.retry]\nattempts = -1", "11:12: upstreams.api.retry.attempts: must be at least 0, got -1")]
    [InlineData("[upstreams.api.limits]\nmax_pending = 0", "11:15: upstreams.api.limits.max_pending: must be at least 1, got 0")]
    public void BadResilienceSettings(string section, string message)
    {
        var errors = ConfigText.Errors(Head + """
            [upstreams.api]
            servers = ["127.0.0.1:9001"]

            """ + section);

        Assert.Equal([$"proxy.toml:{message}"], errors);
    }

    [Fact]
    public void SingleStatusExpect_AndTcpCheck()
    {
        var config = ConfigText.Load(Head + """
            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            health = { expect = 204 }

            [upstreams.db]
            servers = ["127.0.0.1:5432"]
            health = { type = "tcp" }
            """);

        Assert.Equal((204, 204), (config.Upstreams[0].Health!.ExpectMin, config.Upstreams[0].Health!.ExpectMax));
        Assert.Equal(HealthCheckType.Tcp, config.Upstreams[1].Health!.Type);
    }

    [Fact]
    public void UnusedUpstream_IsAWarning()
    {
        var config = ConfigText.Load(Head + """
            [upstreams.api]
            servers = ["127.0.0.1:9001"]

            [upstreams.spare]
            servers = ["127.0.0.1:9002"]
            """);

        Assert.Equal(["proxy.toml:11:1: upstreams.spare: not used by any route or listener"], config.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void UpstreamThatIsNotATable()
    {
        var errors = ConfigText.Errors(Head + """
            [upstreams]
            servers = ["127.0.0.1:9001"]
            """);

        Assert.Contains("proxy.toml:9:11: upstreams.servers: expected a table [upstreams.NAME] (every upstream has a name), got an array", errors);
    }

    [Fact]
    public void RequestBuffering_IsOffByDefault_AndReadWhenSet()
    {
        var config = ConfigText.Load(Head + """
            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            request_buffering = true

            [upstreams.other]
            servers = ["127.0.0.1:9002"]

            [[routes]]
            upstream = "other"
            """);

        Assert.True(config.FindUpstream("api")!.RequestBuffering);
        Assert.False(config.FindUpstream("other")!.RequestBuffering);
    }

    [Fact]
    public void RequestBuffering_NeedsAMaxBodyOnTheListenersThatReachIt()
    {
        // Buffering holds the body in memory: max_body is its bound, so "0" (unlimited) on a listener it serves is refused.
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            [listeners.limits]
            max_body = "0"

            [[routes]]
            upstream = "api"

            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            request_buffering = true
            """);

        Assert.Equal("proxy.toml:12:21: upstreams.api.request_buffering: holds a chunked request body in memory up to max_body, "
            + "but listener \"web\" has max_body = \"0\" (unlimited): give it a max_body", error);
    }

    [Fact]
    public void RequestBuffering_IsFineWhenTheUnlimitedListenerDoesNotReachIt()
    {
        ConfigText.Load("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[listeners]]
            name = "uploads"
            bind = "127.0.0.1:0"
            [listeners.limits]
            max_body = "0"

            [[routes]]
            listeners = ["web"]
            upstream = "api"

            [[routes]]
            listeners = ["uploads"]
            upstream = "big"

            [upstreams.api]
            servers = ["127.0.0.1:9001"]
            request_buffering = true

            [upstreams.big]
            servers = ["127.0.0.1:9002"]
            """);
    }
}
