using System.Text;
using FastProxy.Policies.Pipeline;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>The cors policy: preflights answered, headers on actual requests, Vary, origin matching, first in every chain.</summary>
public sealed class CorsPolicyTests
{
    private static IPolicy Cors(string keys, string name = "cors") => Load($"[policies.{name}]\ntype = \"cors\"\n{keys}\n", name);

    private static string Preflight(string origin, string method = "PUT", string? headers = null, string more = "") =>
        $"OPTIONS /api/x HTTP/1.1\nHost: api.example.com\nOrigin: {origin}\nAccess-Control-Request-Method: {method}\n"
        + (headers is null ? "" : $"Access-Control-Request-Headers: {headers}\n") + more;

    private static string Get(string? origin) => $"GET /api/x HTTP/1.1\nHost: api.example.com\n" + (origin is null ? "" : $"Origin: {origin}\n");

    /// <summary>The answer (null: the request goes on) and every line the client would get: the answer's own, then the context's.</summary>
    private static (int? Status, string[] Lines) Send(IPolicy policy, string request)
    {
        var context = Context(request);
        var answer = Run(policy, context);
        string[] lines = [.. answer is null ? [] : Lines(answer.HeaderLines), .. Lines(context.ResponseLines)];
        return (answer?.Status, lines);
    }

    /// <summary>The lines added to a request that goes on (no answer).</summary>
    private static string[] GoesOn(IPolicy policy, string request)
    {
        var (status, lines) = Send(policy, request);
        Assert.Null(status);
        return lines;
    }

    private const string Full = """
        origins = ["https://app.example.com", "https://*.example.org"]
        methods = ["GET", "PUT"]
        headers = ["Authorization", "Content-Type"]
        expose_headers = ["X-Request-Id", "ETag"]
        credentials = true
        max_age = "10m"
        """;

    [Fact]
    public void A_preflight_from_an_allowed_origin_is_answered_204_with_everything_the_browser_checks()
    {
        var (status, lines) = Send(Cors(Full), Preflight("https://app.example.com", "PUT", "authorization, content-type"));
        Assert.Equal(204, status);
        Assert.Equal(
        [
            "Access-Control-Allow-Methods: GET, PUT",
            "Access-Control-Allow-Headers: Authorization, Content-Type",
            "Access-Control-Max-Age: 600",
            "Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            "Access-Control-Allow-Origin: https://app.example.com",
            "Access-Control-Allow-Credentials: true",
        ], lines);
    }

    [Fact]
    public void A_preflight_from_another_origin_is_refused_with_no_CORS_headers()
    {
        var policy = Cors(Full);
        foreach (var origin in new[] { "https://evil.example.com", "http://app.example.com", "https://app.example.com.evil.com", "null", "" })
        {
            var context = Context(Preflight(origin));
            var answer = Run(policy, context);
            Assert.Equal(403, answer?.Status);
            Assert.Equal(["Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers", "Content-Type: text/plain; charset=utf-8"],
                Lines(answer!.HeaderLines));
            Assert.Empty(Lines(context.ResponseLines));
            Assert.Equal("403 Forbidden (CORS: origin not allowed)\n", Encoding.ASCII.GetString(answer.Body));
        }
    }

    [Fact]
    public void An_actual_request_from_an_allowed_origin_goes_on_with_the_response_headers_the_page_needs()
    {
        var (status, lines) = Send(Cors(Full), Get("https://app.example.com"));
        Assert.Null(status);
        Assert.Equal(
        [
            "Vary: Origin",
            "Access-Control-Allow-Origin: https://app.example.com",
            "Access-Control-Allow-Credentials: true",
            "Access-Control-Expose-Headers: X-Request-Id, ETag",
        ], lines);
    }

    [Fact]
    public void Any_other_request_goes_on_with_only_Vary()
    {
        var policy = Cors(Full);
        Assert.Equal(["Vary: Origin"], GoesOn(policy, Get("https://evil.example.com")));
        Assert.Equal(["Vary: Origin"], GoesOn(policy, Get(null)));
        // OPTIONS without Access-Control-Request-Method is a request of its own, not a preflight: it goes on.
        var (status, lines) = Send(policy, "OPTIONS /api/x HTTP/1.1\nHost: a\nOrigin: https://app.example.com\n");
        Assert.Null(status);
        Assert.Contains("Access-Control-Allow-Origin: https://app.example.com", lines);
        // Access-Control-Request-Method on another method is no preflight either.
        Assert.Null(Send(policy, Get("https://app.example.com") + "Access-Control-Request-Method: PUT\n").Status);
    }

    [Fact]
    public void Any_origin_answers_a_star_and_varies_by_nothing()
    {
        var policy = Cors("origins = [\"*\"]\nexpose_headers = [\"*\"]");
        Assert.Equal(["Access-Control-Allow-Origin: *", "Access-Control-Expose-Headers: *"], GoesOn(policy, Get("https://anyone.test")));
        Assert.Empty(GoesOn(policy, Get(null)));
        var (status, lines) = Send(policy, Preflight("https://anyone.test", "DELETE"));
        Assert.Equal(204, status);
        Assert.Equal(
        [
            "Access-Control-Allow-Methods: GET, HEAD, POST, PUT, PATCH, DELETE",
            "Vary: Access-Control-Request-Method, Access-Control-Request-Headers",
            "Access-Control-Allow-Origin: *",
        ], lines);
    }

    [Theory]
    [InlineData("https://a.example.org", true)]
    [InlineData("https://a.b.example.org", true)]
    [InlineData("https://A.Example.ORG", true)]
    [InlineData("HTTPS://a.example.org", true)]
    [InlineData("https://example.org", false)]
    [InlineData("https://evil-example.org", false)]
    [InlineData("https://evilexample.org", false)]
    [InlineData("https://.example.org", false)]
    [InlineData("https://a..example.org", false)]
    [InlineData("http://a.example.org", false)]
    [InlineData("https://a.example.org:8443", false)]
    [InlineData("https://a.example.org.evil.com", false)]
    [InlineData("https://evil.com/.example.org", false)]
    [InlineData("https://evil.com?.example.org", false)]
    [InlineData("https://user@a.example.org", false)]
    [InlineData("https://a example.org", false)]
    [InlineData("a.example.org", false)]
    [InlineData("https://app.example.com", true)]
    [InlineData("https://APP.example.com", true)]
    [InlineData("https://app.example.com.", false)]
    [InlineData("https://app.example.com:443", false)]
    [InlineData("https://x.app.example.com", false)]
    [InlineData("https://app.example.co", false)]
    [InlineData("https://app.example.comm", false)]
    public void Origins_match_exactly_or_as_subdomains(string origin, bool allowed)
    {
        var (status, lines) = Send(Cors(Full), Preflight(origin));
        Assert.Equal(allowed ? 204 : 403, status);
        // The echo is the origin as the browser sent it: Fetch compares it byte for byte with its own.
        Assert.Equal(allowed, lines.Contains("Access-Control-Allow-Origin: " + origin));
    }

    [Theory]
    [InlineData("*.example.com", "http://a.example.com", true)]
    [InlineData("*.example.com", "https://a.example.com", true)]
    [InlineData("*.example.com", "wss://a.example.com", false)]
    [InlineData("*.example.com", "https://a.example.com:8443", false)]
    [InlineData("https://*.example.com:8443", "https://a.example.com:8443", true)]
    [InlineData("https://*.example.com:8443", "https://a.example.com", false)]
    [InlineData("app.example.com", "http://app.example.com", true)]
    [InlineData("app.example.com", "https://app.example.com", true)]
    [InlineData("app.example.com:443", "https://app.example.com", true)]
    [InlineData("app.example.com:443", "http://app.example.com:443", true)]
    [InlineData("https://app.example.com:443", "https://app.example.com", true)]
    [InlineData("http://localhost:3000", "http://localhost:3000", true)]
    [InlineData("http://localhost:3000", "http://localhost:3001", false)]
    [InlineData("http://[::1]:3000", "http://[::1]:3000", true)]
    [InlineData("chrome-extension://abcdef", "chrome-extension://abcdef", true)]
    public void Scheme_less_entries_mean_http_and_https_and_ports_must_match(string entry, string origin, bool allowed)
    {
        var (status, _) = Send(Cors($"origins = [\"{entry}\"]"), Preflight(origin));
        Assert.Equal(allowed ? 204 : 403, status);
    }

    [Fact]
    public void Star_methods_and_headers_echo_what_the_preflight_asks_for()
    {
        var policy = Cors("origins = [\"https://app.example.com\"]\nmethods = [\"*\"]\nheaders = [\"*\"]\ncredentials = true");
        var (status, lines) = Send(policy, Preflight("https://app.example.com", "PURGE", "authorization,x-custom-thing"));
        Assert.Equal(204, status);
        Assert.Contains("Access-Control-Allow-Methods: PURGE", lines);
        // Not "*": with credentials a browser reads "*" as a header named "*", and it never covers Authorization.
        Assert.Contains("Access-Control-Allow-Headers: authorization,x-custom-thing", lines);
        // Only a token list is echoed: nothing else a client sends goes back into a response header.
        var (_, odd) = Send(policy, Preflight("https://app.example.com", "PU(T", "x-a; x-b"));
        Assert.DoesNotContain(odd, l => l.StartsWith("Access-Control-Allow-Methods", StringComparison.Ordinal) || l.StartsWith("Access-Control-Allow-Headers", StringComparison.Ordinal));
    }

    [Fact]
    public void Private_network_preflights_are_answered_only_when_configured()
    {
        const string ask = "Access-Control-Request-Private-Network: true\n";
        var on = Cors("origins = [\"https://app.example.com\"]\nprivate_network = true");
        var (status, lines) = Send(on, Preflight("https://app.example.com", more: ask));
        Assert.Equal(204, status);
        Assert.Contains("Access-Control-Allow-Private-Network: true", lines);
        Assert.Contains("Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network", lines);
        Assert.DoesNotContain("Access-Control-Allow-Private-Network: true", Send(on, Preflight("https://app.example.com")).Lines);
        var off = Cors("origins = [\"https://app.example.com\"]");
        Assert.DoesNotContain("Access-Control-Allow-Private-Network: true", Send(off, Preflight("https://app.example.com", more: ask)).Lines);
    }

    /// <summary>A stand-in for an authentication policy: refuses everything with 401 (the real kinds are other helpers').</summary>
    private sealed class RefuseAll : IPolicy
    {
        public static readonly PolicyAnswer Answer = new(401, RejectionCounter.For("stand-in", "test", "always"), [new("WWW-Authenticate", "Bearer")]);
        public string Name => "stand-in";
        public int Calls;
        public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
        {
            Calls++;
            return new ValueTask<PolicyAnswer?>(Answer);
        }
    }

    [Fact]
    public void In_a_chain_cors_runs_before_authentication_listed_ahead_of_it()
    {
        var auth = new RefuseAll();
        var chain = new PolicyChain([auth, Cors(Full)]);
        Assert.IsAssignableFrom<IRunsFirst>(chain.Policies[0]);

        // The preflight carries no credentials: answered 204 and authentication never sees it.
        var preflight = Context(Preflight("https://app.example.com"));
        Assert.Equal(204, Run(chain, preflight)?.Status);
        Assert.Equal(0, auth.Calls);

        // The actual request is refused by authentication, and its 401 carries the CORS headers so the page can read it.
        var request = Context(Get("https://app.example.com"));
        Assert.Same(RefuseAll.Answer, Run(chain, request));
        Assert.Equal(1, auth.Calls);
        Assert.Contains("Access-Control-Allow-Origin: https://app.example.com", Lines(request.ResponseLines));
        Assert.Contains("Access-Control-Allow-Credentials: true", Lines(request.ResponseLines));
    }

    [Fact]
    public void A_request_costs_no_allocation()
    {
        var policy = Cors(Full + "\nprivate_network = true");
        var star = Cors("origins = [\"https://*.example.org\"]\nmethods = [\"*\"]\nheaders = [\"*\"]", name: "star");
        var contexts = new[]
        {
            Context(Preflight("https://app.example.com", "PUT", "content-type", "Access-Control-Request-Private-Network: true\n")),
            Context(Preflight("https://evil.example.com")),
            Context(Get("https://a.b.example.org")),
            Context(Get("https://evil.example.com")),
            Context(Get(null)),
        };
        int answered = 0;
        var heads = contexts.Select(c => c.Head.ToArray()).ToArray();
        long allocated = 0;
        for (int round = 0; round < 2; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5_000; i++)
            {
                int n = i % contexts.Length;
                contexts[n].Begin(contexts[n].Request, heads[n], contexts[n].Client, [], "r", false);
                answered += Sync(policy.OnRequestAsync(contexts[n])) is null ? 0 : 1;
                contexts[n].Begin(contexts[n].Request, heads[n], contexts[n].Client, [], "r", false);
                answered += Sync(star.OnRequestAsync(contexts[n])) is null ? 0 : 1;
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before; // the second round counts: the first warms up
        }
        Assert.Equal(0, allocated);
        Assert.True(answered > 0);
    }
}
