using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams;

/// <summary>
/// sticky = { cookie = "NAME" }: curl with a cookie jar over HTTP/1.1 and h2c (prior knowledge) through a running
/// proxy to loopback servers that answer with their own name.
/// </summary>
public sealed class StickyCookieTests
{
    private static string Config(string balance, string sticky, params int[] ports) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"

        [upstreams.app]
        balance = "{{balance}}"
        sticky = { {{sticky}} }
        servers = [ {{string.Join(", ", ports.Select(p => $"{{ address = \"127.0.0.1:{p}\" }}"))}} ]
        """;

    private static RawUpstream Named(string name) => new(_ => RawUpstream.Ok(name));

    /// <summary>One curl request with a cookie jar (read and written); the status line, head and body.</summary>
    private static async Task<(string Head, string Body)> CurlAsync(bool h2, string jar, int port)
    {
        var result = await Processes.CurlAsync("-i", h2 ? "--http2-prior-knowledge" : "--http1.1", "-b", jar, "-c", jar, $"http://127.0.0.1:{port}/");
        Assert.True(result.ExitCode == 0, $"curl exited {result.ExitCode}: {result.StdErr}");
        int end = result.StdOut.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, result.StdOut);
        string head = result.StdOut[..end];
        Assert.StartsWith(h2 ? "HTTP/2 200" : "HTTP/1.1 200", head);
        return (head, result.StdOut[(end + 4)..]);
    }

    private static string? SetCookie(string head) => head.Split("\r\n")
        .Where(l => l.StartsWith("set-cookie:", StringComparison.OrdinalIgnoreCase))
        .Select(l => l["set-cookie:".Length..].Trim())
        .SingleOrDefault();

    [Theory]
    [InlineData(false, "round_robin")]
    [InlineData(true, "round_robin")]
    [InlineData(false, "least_conn")]
    [InlineData(true, "p2c")]
    public async Task A_client_with_the_cookie_stays_on_its_server(bool h2, string balance)
    {
        await using var a = Named("a");
        await using var b = Named("b");
        await using var c = Named("c");
        await using var proxy = TestProxy.Start(Config(balance, "cookie = \"srv\", ttl = \"1h\"", a.Port, b.Port, c.Port));
        string dir = Directory.CreateTempSubdirectory("sticky").FullName;
        try
        {
            var servers = new HashSet<string>();
            for (int client = 0; client < 3; client++)
            {
                string jar = Path.Combine(dir, $"jar{client}");
                var (head, first) = await CurlAsync(h2, jar, proxy.Port());
                servers.Add(first);
                string? cookie = SetCookie(head);
                Assert.NotNull(cookie);
                // An opaque id (16 hex digits), not the address; the attributes as configured.
                Assert.Matches("^srv=[0-9a-f]{16}; Path=/; Max-Age=3600; HttpOnly$", cookie);
                Assert.DoesNotContain("127.0.0.1", cookie);
                for (int i = 0; i < 5; i++)
                {
                    var (again, body) = await CurlAsync(h2, jar, proxy.Port());
                    Assert.Equal(first, body);
                    // The cookie is right already: not set again.
                    Assert.Null(SetCookie(again));
                }
            }
            // Without cookies round-robin would spread three new clients; with them each stayed where it began.
            if (balance == "round_robin") Assert.Equal(3, servers.Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_cookie_naming_a_server_that_is_down_or_unknown_is_balanced_and_replaced()
    {
        await using var a = Named("a");
        int closed = UpstreamPorts.Closed();
        await using var proxy = TestProxy.Start(Config("round_robin", "cookie = \"srv\"", closed, a.Port));
        using var client = new WireClient(proxy.Port());

        // Find the id of the closed server: the one that is not a's.
        var first = await client.RoundTripAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal("a", first.BodyText);
        string aCookie = first.Header("Set-Cookie")!.Split(';')[0];

        // An unknown id, and a malformed one: balanced, and the response names a.
        foreach (var bad in new[] { "srv=0123456789abcdef", "srv=not-an-id", "srv=" })
        {
            var answer = await client.RoundTripAsync($"GET / HTTP/1.1\r\nHost: x\r\nCookie: {bad}\r\n\r\n");
            Assert.Equal("a", answer.BodyText);
            Assert.Equal(aCookie, answer.Header("Set-Cookie")!.Split(';')[0]);
        }

        // The right cookie among others: no Set-Cookie.
        var right = await client.RoundTripAsync($"GET / HTTP/1.1\r\nHost: x\r\nCookie: x=1; {aCookie}; y=2\r\n\r\n");
        Assert.Equal("a", right.BodyText);
        Assert.Null(right.Header("Set-Cookie"));
    }
}
