using System.Net.Http;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Observability;

namespace FastProxy.Tests.Upstreams.Discovery;

/// <summary>
/// A server written as a host name is one server per address it resolves to; where an operator reads about it (the
/// admin's /upstreams and drain answers, /metrics, log lines) it is named by the entry as written and the address,
/// "app.display.test:PORT (127.0.0.2)", not by the bare address alone. An IP literal stays as written. The metrics'
/// label sets stay one per server address. The name comes from a DNS server on loopback ([dns] servers).
/// </summary>
public sealed class ServerDisplayTests
{
    private const string Name = "app.display.test";

    /// <summary>A listening origin on 127.0.0.2 and a port number that nothing listens on at 127.0.0.3.</summary>
    private static RawUpstream OriginOn2()
    {
        for (int attempt = 0; ; attempt++)
        {
            var origin = new RawUpstream(_ => RawUpstream.Ok("two"), address: IPAddress.Parse("127.0.0.2"));
            try
            {
                // 127.0.0.3 must refuse that port: make sure nothing is bound there (bind and release it).
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.3"), origin.Port));
                return origin;
            }
            catch (SocketException) when (attempt < 10)
            {
                origin.DisposeAsync().AsTask().Wait();
            }
        }
    }

    private static string Config(int dnsPort, int port, int literalPort, string listener = "bind = \"127.0.0.1:0\"") => $$"""
        [dns]
        servers = ["127.0.0.1:{{dnsPort}}"]
        timeout = "1s"

        [admin]
        bind = "127.0.0.1:0"

        [[listeners]]
        name = "web"
        {{listener}}

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        servers = [{ address = "{{Name}}:{{port}}" }, { address = "127.0.0.1:{{literalPort}}" }]
        resolve_interval = "0s"
        """;

    [Fact]
    public async Task Upstreams_drain_answers_and_metrics_name_the_entry_and_the_address()
    {
        await using var origin = OriginOn2();
        await using var literal = new RawUpstream(_ => RawUpstream.Ok("literal"));
        int port = origin.Port;
        await using var dns = new TestDnsServer(Name, "127.0.0.2", "127.0.0.3");
        await using var proxy = TestProxy.Start(Config(dns.Port, port, literal.Port));
        string admin = $"http://{proxy.Host.AdminEndPoint}";

        var (status, body) = await Hosting.AdminDrainTests.CurlAsync(admin + "/upstreams");
        Assert.Equal(200, status);
        using (var json = JsonDocument.Parse(body))
        {
            var servers = json.RootElement.GetProperty("upstreams")[0].GetProperty("servers").EnumerateArray()
                .Select(s => (Address: s.GetProperty("address").GetString(), Declared: s.GetProperty("declared").GetString(), Display: s.GetProperty("display").GetString()))
                .ToList();
            Assert.Equal(
                [
                    ($"127.0.0.1:{literal.Port}", $"127.0.0.1:{literal.Port}", $"127.0.0.1:{literal.Port}"),
                    ($"127.0.0.2:{port}", $"{Name}:{port}", $"{Name}:{port} (127.0.0.2)"),
                    ($"127.0.0.3:{port}", $"{Name}:{port}", $"{Name}:{port} (127.0.0.3)"),
                ],
                servers.OrderBy(s => s.Address, StringComparer.Ordinal));
        }

        // The drain answer names it the same way (the address in the URL, as before).
        var (drained, answer) = await Hosting.AdminDrainTests.CurlAsync($"{admin}/upstreams/app/servers/127.0.0.3:{port}/drain", "-X", "POST");
        Assert.Equal(200, drained);
        using (var json = JsonDocument.Parse(answer))
        {
            Assert.Equal($"127.0.0.3:{port}", json.RootElement.GetProperty("server").GetString());
            Assert.Equal($"{Name}:{port} (127.0.0.3)", json.RootElement.GetProperty("display").GetString());
        }

        // Metrics: the server label stays the address (one series per server); the info family gives the entry.
        var m = await MetricsScrape.FetchAsync(proxy.Host.AdminEndPoint!);
        var info = m.LabelSets("fastproxy_upstream_server_info").Select(l => (l["server"], l["declared"])).OrderBy(l => l.Item1, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [($"127.0.0.1:{literal.Port}", $"127.0.0.1:{literal.Port}"), ($"127.0.0.2:{port}", $"{Name}:{port}"), ($"127.0.0.3:{port}", $"{Name}:{port}")],
            info);
        Assert.Equal(1, m.Value("fastproxy_upstream_server_info", ("upstream", "app"), ("server", $"127.0.0.2:{port}"), ("declared", $"{Name}:{port}")));
        Assert.Equal(3, m.LabelSets("fastproxy_upstream_server_up").Count());
    }

    /// <summary>The real binary's log: a failed connect to one of the name's addresses names the entry and that address.</summary>
    [Fact]
    public async Task A_connect_failure_log_line_names_the_entry_and_the_address()
    {
        await using var origin = OriginOn2();
        await using var literal = new RawUpstream(_ => RawUpstream.Ok("literal"));
        int port = origin.Port;
        await using var dns = new TestDnsServer(Name, "127.0.0.2", "127.0.0.3");
        int web = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(dns.Port, port, literal.Port, $"bind = \"127.0.0.1:{web}\""), out var configPath);
        try
        {
            await proxy.WaitForPortAsync(web);
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            // Round robin over three servers: one request of each three tries 127.0.0.3 first and is refused there
            // (then moves on to the next server, or gets a 502).
            for (int i = 0; i < 6; i++)
            {
                using var response = await client.GetAsync($"http://127.0.0.1:{web}/x");
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadGateway, response.StatusCode.ToString());
            }
            string expected = $"upstream \"app\": cannot connect to {Name}:{port} (127.0.0.3): Connection refused";
            await Wait.UntilAsync(() => proxy.StdErr.Contains(expected, StringComparison.Ordinal), $"the line '{expected}' in:\n{proxy.StdErr}", TimeSpan.FromSeconds(10));
        }
        finally
        {
            File.Delete(configPath);
        }
    }
}

/// <summary>
/// The client span of a request to a server from a host name: server.address is the name as written (OpenTelemetry:
/// the logical name when there is one) and network.peer.address the address connected to; over HTTP/1.1 and h2.
/// </summary>
[Collection(NonParallel.Name)] // TracingCounters are process-wide
public sealed class ServerDisplayTracingTests
{
    private const string Name = "app.trace.test";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_client_span_names_the_host_and_the_peer_address(bool h2)
    {
        await using var collector = await Observability.Tracing.OtlpReceiver.StartAsync();
        await using var origin = new RawUpstream(_ => RawUpstream.Ok("two"), address: IPAddress.Parse("127.0.0.2"));
        await using var dns = new TestDnsServer(Name, "127.0.0.2");
        await using var proxy = TestProxy.Start($$"""
            [dns]
            servers = ["127.0.0.1:{{dns.Port}}"]

            [tracing]
            otlp_endpoint = "{{collector.Endpoint}}"
            sample = 1
            batch_size = 1
            export_interval = "100ms"

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "app"
            upstream = "app"

            [upstreams.app]
            servers = ["{{Name}}:{{origin.Port}}"]
            """);

        var answer = await Gateway.CurlAnswer.GetAsync(h2, proxy.Url("/x").ToString());
        Assert.Equal(200, answer.Status);
        await Wait.UntilAsync(() => collector.Spans.Any(s => s.Kind == 3), "the client span at the collector");
        var client = collector.Spans.First(s => s.Kind == 3);
        Assert.Equal(Name, client.Attributes["server.address"]);
        Assert.Equal(origin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), client.Attributes["server.port"]);
        Assert.Equal("127.0.0.2", client.Attributes["network.peer.address"]);
    }
}
