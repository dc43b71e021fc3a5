using System.Globalization;
using System.Text.RegularExpressions;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// Every response carries a Date (RFC 9110 §6.6.1: an origin with a clock MUST send one, and a recipient with a clock
/// that forwards a response without one MUST add it): the proxy's own answers (404, 400, 502, respond routes) over
/// HTTP/1.1 and HTTP/2, and relayed responses whose server sent none. A server's own Date is passed on untouched.
/// </summary>
public sealed partial class DateHeaderTests
{
    /// <summary>The upstream's Date, far in the past: if it comes back, it was relayed and not replaced.</summary>
    private const string UpstreamDate = "Sun, 06 Nov 1994 08:49:37 GMT";

    /// <summary>
    /// /hello: a respond route; /app: an upstream that sends no Date; /dated: one that does; /down: a server that
    /// refuses connections (502); anything else: no route (404).
    /// </summary>
    private static string Config(int plainPort, int datedPort) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        respond = { status = 200, body = "hello" }
        [routes.match]
        path = "/hello"

        [[routes]]
        upstream = "plain"
        [routes.match]
        path_prefix = "/app"

        [[routes]]
        upstream = "dated"
        [routes.match]
        path_prefix = "/dated"

        [[routes]]
        upstream = "down"
        [routes.match]
        path_prefix = "/down"

        [upstreams.plain]
        servers = [ { address = "127.0.0.1:{{plainPort}}" } ]

        [upstreams.dated]
        servers = [ { address = "127.0.0.1:{{datedPort}}" } ]

        [upstreams.down]
        servers = [ { address = "127.0.0.1:{{UpstreamPorts.Closed()}}" } ]
        """;

    private sealed class Setup : IAsyncDisposable
    {
        public readonly RawUpstream Plain = new(_ => RawUpstream.Ok("plain"));
        public readonly RawUpstream Dated = new(_ => RawUpstream.Ok("dated", $"Date: {UpstreamDate}\r\n"));
        public readonly TestProxy Proxy;

        public Setup() => Proxy = TestProxy.Start(Config(Plain.Port, Dated.Port));

        public async ValueTask DisposeAsync()
        {
            await Proxy.DisposeAsync();
            await Plain.DisposeAsync();
            await Dated.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n", 404)]
    [InlineData("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", 200)]
    [InlineData("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n", 200)]
    [InlineData("GET /down HTTP/1.1\r\nHost: a\r\n\r\n", 502)]
    [InlineData("GET /bad%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("POST /app HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501)]
    [InlineData("GET /app HTTP/1.1\r\nHost: a\r\n\r\n", 200)] // relayed: the server sent no Date
    public async Task Http11_responses_carry_a_current_date(string request, int status)
    {
        await using var setup = new Setup();
        using var client = new WireClient(setup.Proxy.Port());
        var before = DateTimeOffset.UtcNow;
        var response = await client.RoundTripAsync(request);
        var after = DateTimeOffset.UtcNow;

        Assert.Equal(status, response.Status);
        var date = Assert.Single(response.Headers("Date"));
        AssertCurrent(date, before, after);
    }

    [Fact]
    public async Task The_proxys_own_answer_to_a_refused_head_has_a_date()
    {
        // 431: the head itself is refused, before any routing.
        await using var setup = new Setup();
        using var client = new RawClient(setup.Proxy.Port());
        var before = DateTimeOffset.UtcNow;
        client.Send($"GET / HTTP/1.1\r\nHost: a\r\nX-Big: {new string('x', 40_000)}\r\n\r\n");
        string response = await client.ReadUntilCloseAsync(TimeSpan.FromSeconds(10));
        var after = DateTimeOffset.UtcNow;

        Assert.StartsWith("HTTP/1.1 431 ", response);
        AssertCurrent(Assert.Single(DateLines().Matches(response)).Groups[1].Value, before, after);
    }

    [Fact]
    public async Task A_servers_own_date_is_relayed_unchanged_and_not_doubled()
    {
        await using var setup = new Setup();
        using var client = new WireClient(setup.Proxy.Port());
        var response = await client.RoundTripAsync("GET /dated HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(200, response.Status);
        Assert.Equal(UpstreamDate, Assert.Single(response.Headers("Date")));
    }

    [Fact]
    public async Task The_date_moves_on_with_the_clock()
    {
        // Refreshed once a second, not fixed when the response was first built: within a bounded wait, a later
        // answer carries a later date.
        await using var setup = new Setup();
        using var client = new WireClient(setup.Proxy.Port());
        string first = Assert.Single((await client.RoundTripAsync("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")).Headers("Date"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        string later;
        do
        {
            await Task.Delay(200);
            later = Assert.Single((await client.RoundTripAsync("GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")).Headers("Date"));
        }
        while (later == first && DateTime.UtcNow < deadline);
        Assert.True(Parse(later) > Parse(first), $"the date stayed at {first}");
    }

    [Theory]
    [InlineData("/nowhere", 404)]
    [InlineData("/hello", 200)]
    [InlineData("/down", 502)]
    [InlineData("/bad%zz", 400)]
    [InlineData("/app", 200)]
    public async Task Http2_responses_carry_a_current_date(string path, int status)
    {
        await using var setup = new Setup();
        var before = DateTimeOffset.UtcNow;
        var r = await Processes.CurlAsync("--http2-prior-knowledge", "-i", "--path-as-is", $"http://127.0.0.1:{setup.Proxy.Port()}{path}");
        var after = DateTimeOffset.UtcNow;

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.StartsWith($"HTTP/2 {status}", r.StdOut);
        var dates = H2DateLines().Matches(r.StdOut);
        AssertCurrent(Assert.Single(dates).Groups[1].Value, before, after);
    }

    [Fact]
    public async Task Http2_relays_a_servers_own_date_unchanged()
    {
        await using var setup = new Setup();
        var r = await Processes.CurlAsync("--http2-prior-knowledge", "-i", $"http://127.0.0.1:{setup.Proxy.Port()}/dated");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(UpstreamDate, Assert.Single(H2DateLines().Matches(r.StdOut)).Groups[1].Value);
    }

    /// <summary>
    /// An IMF-fixdate (RFC 9110 §5.6.7) no older than the request by more than the refresh period allows (a few
    /// seconds of slack for a loaded machine) and not after the response. Seconds resolution: compared whole.
    /// </summary>
    private static void AssertCurrent(string value, DateTimeOffset before, DateTimeOffset after)
    {
        Assert.Matches(ImfFixdate(), value);
        var date = Parse(value);
        var earliest = before.AddSeconds(-5);
        var latest = after.AddSeconds(1);
        Assert.True(date >= earliest && date <= latest, $"Date {value} is not within [{earliest:R}, {latest:R}]");
    }

    private static DateTimeOffset Parse(string value)
        => DateTimeOffset.ParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    [GeneratedRegex(@"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$")]
    private static partial Regex ImfFixdate();

    [GeneratedRegex(@"\r\nDate: ([^\r\n]*)\r\n")]
    private static partial Regex DateLines();

    /// <summary>curl -i over HTTP/2 prints the field names as received: lowercase.</summary>
    [GeneratedRegex(@"\r\ndate: ([^\r\n]*)\r\n")]
    private static partial Regex H2DateLines();
}
