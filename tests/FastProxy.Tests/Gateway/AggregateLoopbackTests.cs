using System.Diagnostics;
using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The aggregate policy end to end: curl (HTTP/1.1 and h2c with prior knowledge) through a real proxy whose parts go
/// to real origins on loopback: two that answer JSON, one slower than its part's timeout, one on a closed port. The
/// answer's members come in config order whatever order the parts finish in; a failed part is left out (omit) or makes
/// the answer a 502 naming it (fail); templated values reach the origin percent-encoded.
/// </summary>
public sealed class AggregateLoopbackTests : IAsyncLifetime
{
    private readonly ManualResetEventSlim _release = new(false);
    private RawUpstream _users = null!;
    private RawUpstream _orders = null!;
    private RawUpstream _slow = null!;
    private int _downPort;
    private int _slowAnswered;

    public Task InitializeAsync()
    {
        _users = new RawUpstream(r => UsersAnswer(r));
        _orders = new RawUpstream(r =>
        {
            // The orders part answers first; the user part (first in config order) answers only once it has.
            return RawUpstream.Ok("[1,2]", "Content-Type: application/json\r\n");
        });
        _slow = new RawUpstream(_ =>
        {
            _release.Wait(TimeSpan.FromSeconds(20));
            Interlocked.Increment(ref _slowAnswered);
            return RawUpstream.Ok("{\"late\":true}");
        });
        _downPort = ProxyProcess.FreePort();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _release.Set();
        await _users.DisposeAsync();
        await _orders.DisposeAsync();
        await _slow.DisposeAsync();
    }

    private byte[] UsersAnswer(UpstreamRequest r)
    {
        var target = r.RequestLine.Split(' ')[1];
        if (target.StartsWith("/users/", StringComparison.Ordinal))
        {
            // Later than orders: the merge must not follow the finishing order.
            Wait.UntilAsync(() => _orders.Requests.Count > 0, "the orders part to be asked").GetAwaiter().GetResult();
            Thread.Sleep(100);
            return RawUpstream.Ok("{\"id\":\"" + target["/users/".Length..] + "\"}", "Content-Type: application/json\r\n");
        }
        if (target == "/big") return RawUpstream.Ok("\"" + new string('x', 4000) + "\"");
        if (target == "/text") return RawUpstream.Ok("hello, not json");
        if (target == "/error") return Encoding.ASCII.GetBytes("HTTP/1.1 503 Unavailable\r\nContent-Length: 2\r\n\r\n{}");
        if (target == "/chunked")
            return Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n3\r\n[1]\r\n1\r\n}\r\n0\r\n\r\n");
        return RawUpstream.Ok("{}");
    }

    private string Config(string partial = "omit", string extraParts = "", string maxPartBody = "1MiB") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "me"
        upstream = "users"
        policies = ["me"]

        [upstreams.users]
        servers = ["127.0.0.1:{{_users.Port}}"]
        [upstreams.orders]
        servers = ["127.0.0.1:{{_orders.Port}}"]
        [upstreams.slow]
        servers = ["127.0.0.1:{{_slow.Port}}"]
        [upstreams.down]
        servers = ["127.0.0.1:{{_downPort}}"]
        connect_timeout = "1s"

        [policies.me]
        type = "aggregate"
        timeout = "15s"
        partial = "{{partial}}"
        max_part_body = "{{maxPartBody}}"
        parts = [
          { name = "user", upstream = "users", path = "/users/{header.x-user}", headers = ["x-tenant"] },
          { name = "orders", upstream = "orders", path = "/orders?user={header.x-user}" },
          { name = "slow", upstream = "slow", path = "/slow", timeout = "500ms" },
          { name = "down", upstream = "down", path = "/down" },
          {{extraParts}}
        ]
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Omit_merges_the_good_parts_in_config_order_and_says_it_is_partial(bool h2)
    {
        await using var proxy = TestProxy.Start(Config());

        var clock = Stopwatch.StartNew();
        var (status, headers, body) = await CurlAsync(proxy, h2, "/me", "-H", "X-User: 42", "-H", "X-Tenant: acme", "-H", "X-Other: no");
        clock.Stop();

        Assert.Equal(h2 ? "HTTP/2 200" : "HTTP/1.1 200 OK", status);
        Assert.Equal("{\"user\":{\"id\":\"42\"},\"orders\":[1,2]}", Encoding.UTF8.GetString(body));
        Assert.Equal(["application/json"], Values(headers, "content-type"));
        Assert.Equal(["true"], Values(headers, "x-aggregate-partial"));
        // The slow part was cut by its own 500 ms, not by the aggregate's 15 s (generous bound: a loaded box is slow, not 10 s slow).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(0, Volatile.Read(ref _slowAnswered));

        var user = Assert.Single(_users.Requests);
        Assert.Equal("GET /users/42 HTTP/1.1", user.RequestLine);
        Assert.Equal("acme", user.Header("x-tenant"));
        Assert.Null(user.Header("x-other"));
        Assert.Equal("application/json", user.Header("accept"));
        Assert.Equal("127.0.0.1", user.Header("x-forwarded-for"));
        Assert.Matches("^[0-9a-f]{32}$", user.Header("x-request-id")!);
        var orders = Assert.Single(_orders.Requests);
        Assert.Equal("GET /orders?user=42 HTTP/1.1", orders.RequestLine);
        Assert.Null(orders.Header("x-tenant"));
        Assert.Equal(user.Header("x-request-id"), orders.Header("x-request-id"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fail_answers_502_naming_the_failed_part(bool h2)
    {
        await using var proxy = TestProxy.Start(Config(partial: "fail"));

        var (status, headers, body) = await CurlAsync(proxy, h2, "/me", "-H", "X-User: 42");

        Assert.Equal(h2 ? "HTTP/2 502" : "HTTP/1.1 502 Bad Gateway", status);
        Assert.Equal(["application/problem+json"], Values(headers, "content-type"));
        Assert.Empty(Values(headers, "x-aggregate-partial"));
        var problem = System.Text.Json.JsonDocument.Parse(body).RootElement;
        Assert.Equal(502, problem.GetProperty("status").GetInt32());
        // The closed port fails first (a refused connect), and the others are not waited for.
        Assert.Equal("down", problem.GetProperty("part").GetString());
        Assert.Contains("aggregate part \"down\" failed: could not connect", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_templated_value_reaches_the_origin_percent_encoded()
    {
        await using var proxy = TestProxy.Start(Config());

        var (status, _, body) = await CurlAsync(proxy, false, "/me", "-H", "X-User: a/../b%0d%0a ?#&x");

        Assert.Equal("HTTP/1.1 200 OK", status);
        var user = Assert.Single(_users.Requests);
        Assert.Equal("GET /users/a%2F..%2Fb%250d%250a%20%3F%23%26x HTTP/1.1", user.RequestLine);
        Assert.Equal("GET /orders?user=a%2F..%2Fb%250d%250a%20%3F%23%26x HTTP/1.1", Assert.Single(_orders.Requests).RequestLine);
        Assert.StartsWith("{\"user\":{\"id\":\"a%2F..%2Fb%250d%250a%20%3F%23%26x\"},\"orders\":[1,2]}", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task A_part_without_its_templated_value_is_not_sent()
    {
        await using var proxy = TestProxy.Start(Config());

        var (status, headers, body) = await CurlAsync(proxy, false, "/me");

        // No X-User: neither the user nor the orders part can be built; slow and down fail too: every part failed.
        Assert.Equal("HTTP/1.1 502 Bad Gateway", status);
        Assert.Equal(["application/problem+json"], Values(headers, "content-type"));
        Assert.Contains("no value for {header.x-user}", Encoding.UTF8.GetString(body));
        Assert.Empty(_users.Requests);
        Assert.Empty(_orders.Requests);
    }

    [Theory]
    [InlineData("{ name = \"big\", upstream = \"users\", path = \"/big\" },", false)]
    [InlineData("{ name = \"text\", upstream = \"users\", path = \"/text\" },", false)]
    [InlineData("{ name = \"error\", upstream = \"users\", path = \"/error\" },", false)]
    [InlineData("{ name = \"chunked\", upstream = \"users\", path = \"/chunked\" },", true)]
    public async Task Oversized_non_json_and_non_2xx_parts_are_dropped(string part, bool kept)
    {
        await using var proxy = TestProxy.Start(Config(extraParts: part, maxPartBody: "1KiB"));

        var (status, headers, body) = await CurlAsync(proxy, true, "/me", "-H", "X-User: 7");

        Assert.Equal("HTTP/2 200", status);
        var expected = "{\"user\":{\"id\":\"7\"},\"orders\":[1,2]" + (kept ? ",\"chunked\":{\"a\":[1]}" : "") + "}";
        Assert.Equal(expected, Encoding.UTF8.GetString(body));
        Assert.Equal(["true"], Values(headers, "x-aggregate-partial"));
    }

    [Fact]
    public async Task Part_connections_are_pooled_and_reused()
    {
        await using var proxy = TestProxy.Start(Config());

        for (int i = 0; i < 3; i++)
        {
            var (status, _, _) = await CurlAsync(proxy, false, "/me", "-H", $"X-User: {i}");
            Assert.Equal("HTTP/1.1 200 OK", status);
        }

        Assert.Equal(3, _users.Requests.Count);
        Assert.Equal(1, _users.Connections);
        Assert.Equal(1, _orders.Connections);
    }

    /// <summary>curl's view: the status line, the header fields (names lower-cased), the body's bytes.</summary>
    internal static async Task<(string Status, List<(string Name, string Value)> Headers, byte[] Body)> CurlAsync(TestProxy proxy, bool h2, string path,
        params string[] extra)
    {
        string bodyFile = Path.GetTempFileName();
        try
        {
            var result = await Processes.CurlAsync([h2 ? "--http2-prior-knowledge" : "--http1.1", "-D", "-", "-o", bodyFile, .. extra, proxy.Url(path).ToString()]);
            Assert.True(result.ExitCode == 0, $"curl failed ({result.ExitCode}): {result.StdErr}");
            var lines = result.StdOut.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var headers = lines.Skip(1)
                .Select(l => (Name: l[..l.IndexOf(':')].ToLowerInvariant(), Value: l[(l.IndexOf(':') + 1)..].Trim()))
                .ToList();
            return (lines[0].Trim(), headers, await File.ReadAllBytesAsync(bodyFile));
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }

    internal static List<string> Values(List<(string Name, string Value)> headers, string name) =>
        headers.Where(h => h.Name == name).Select(h => h.Value).ToList();
}
