using System.Net;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.Headers;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The headers policy on a real parsed request (and response) head: what it records on the context is exactly what the
/// forwarder writes (RequestLines, RemovedHeaders, ResponseLines, IsResponseHeaderRemoved).
/// </summary>
public sealed class HeadersPolicyTests
{
    private const string Request =
        "GET /a?b=1 HTTP/1.1\r\nHost: api.example\r\nX-Debug: 1\r\nX-Old: first\r\nX-User: forged\r\nX-Old: second\r\nUser-Agent: curl/8\r\n\r\n";

    [Fact]
    public void Request_edits_are_recorded_in_order_remove_rename_set_add()
    {
        var policy = Build("""
            request = { remove = ["x-debug"], rename = { "x-old" = "x-new" }, set = { "x-user" = "{consumer}@{client_ip}" }, add = { "x-ua" = "ua={header.user-agent}" } }
            """);
        var context = Context(Request, consumer: "alice");

        Run(policy, context);

        // X-Debug (1), both X-Old (2, 4) and the client's X-User (3) are not forwarded.
        Assert.Equal([1, 2, 3, 4], context.RemovedHeaders.ToArray());
        Assert.Equal("x-new: first\r\nx-new: second\r\nx-user: alice@203.0.113.7\r\nx-ua: ua=curl/8\r\n", Text(context.RequestLines));
        Assert.True(context.ResponseLines.IsEmpty);
    }

    [Fact]
    public void Set_removes_the_clients_field_even_when_its_value_has_nothing_to_expand_and_counts_the_skip()
    {
        var policy = Build("""request = { set = { "x-user" = "{consumer}" }, add = { "x-sub" = "{claim.sub}", "x-h" = "{header.x-absent}" } }""");
        var context = Context(Request, consumer: null);

        Run(policy, context);

        Assert.Equal([3], context.RemovedHeaders.ToArray()); // the forged X-User is gone: no consumer, no line
        Assert.True(context.RequestLines.IsEmpty);
        Assert.Equal(3, Skips(policy).MissingCount);
        Assert.Equal(0, Skips(policy).UnsafeCount);
    }

    [Theory]
    [InlineData("alice\r\nx-admin: true")]
    [InlineData("alice\nx-admin: true")]
    [InlineData("alice\0")]
    [InlineData("a\u0001b")]
    public void A_claim_with_CR_LF_or_NUL_is_never_written_and_the_skip_is_counted(string claim)
    {
        var policy = Build("""
            request = { set = { "x-user" = "user={claim.sub}" }, add = { "x-ok" = "{claim.ok}" } }
            response = { add = { "x-user" = "{claim.sub}" } }
            """);
        var context = Context(Request, consumer: null);
        context.Claims = new Claims(("sub", claim), ("ok", "fine"));

        Run(policy, context);
        RunResponse(policy, context, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

        Assert.Equal([3], context.RemovedHeaders.ToArray());
        Assert.Equal("x-ok: fine\r\n", Text(context.RequestLines)); // the other line still goes
        Assert.True(context.ResponseLines.IsEmpty);
        Assert.Equal(2, Skips(policy).UnsafeCount);
        Assert.DoesNotContain("x-admin", Text(context.RequestLines) + Text(context.ResponseLines), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_header_value_with_obs_text_is_copied_as_bytes()
    {
        // RFC 9110 5.5 allows obs-text (0x80-0xFF) in a field value; it is not a line break and passes unchanged.
        var bytes = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf?\r\n\r\n");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xE9;
        var policy = Build("""request = { add = { "x-copy" = "<{header.x-name}>" } }""");
        var context = Context(bytes, consumer: null);

        Run(policy, context);

        Assert.Equal([.. "x-copy: <caf"u8, 0xE9, .. ">\r\n"u8], context.RequestLines.ToArray());
        Assert.Equal(0, Skips(policy).UnsafeCount);
    }

    [Fact]
    public void Request_id_is_the_clients_when_usable_else_generated_once_per_request()
    {
        var policy = Build("""
            request = { set = { "x-request-id" = "{request_id}" } }
            response = { set = { "x-request-id" = "{request_id}" } }
            """);

        var sent = Context("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-123\r\n\r\n", consumer: null);
        Run(policy, sent);
        RunResponse(policy, sent, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal("x-request-id: abc-123\r\n", Text(sent.RequestLines));
        Assert.Equal("x-request-id: abc-123\r\n", Text(sent.ResponseLines));

        // A client id with a space in it (or too long) is not taken: one is generated, the same on both sides.
        var generated = new List<string>();
        var context = new PolicyContext();
        foreach (var head in (string[])["GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a b\r\n\r\n", $"GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: {new string('x', 129)}\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"])
        {
            Begin(context, Encoding.ASCII.GetBytes(head), consumer: null);
            Run(policy, context);
            RunResponse(policy, context, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            var line = Text(context.RequestLines);
            Assert.Matches("^x-request-id: [0-9a-f]{32}\r\n$", line);
            Assert.Equal(line, Text(context.ResponseLines));
            generated.Add(line);
        }
        // One process prefix, then a counter: three requests, three ids, the same first 16 characters.
        Assert.Equal(3, generated.Distinct().Count());
        Assert.Single(generated.Select(g => g[14..30]).Distinct());
    }

    [Fact]
    public void Response_edits_drop_the_upstreams_fields_through_the_context_and_add_lines()
    {
        var policy = Build("""
            response = { remove = ["server"], rename = { "set-cookie" = "x-cookie" }, set = { "x-frame-options" = "DENY" }, add = { "x-served-for" = "{consumer}" } }
            """);
        var context = Context(Request, consumer: "bob");
        Run(policy, context);
        Assert.False(context.HasRequestEdits);

        RunResponse(policy, context,
            "HTTP/1.1 200 OK\r\nServer: origin\r\nSet-Cookie: a=1\r\nX-Frame-Options: SAMEORIGIN\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n");

        Assert.True(context.HasResponseRemovals);
        foreach (var name in (string[])["Server", "set-cookie", "X-FRAME-OPTIONS"]) Assert.True(context.IsResponseHeaderRemoved(Encoding.ASCII.GetBytes(name)), name);
        foreach (var name in (string[])["content-length", "x-cookie", "x-served-for", "serve"]) Assert.False(context.IsResponseHeaderRemoved(Encoding.ASCII.GetBytes(name)), name);
        Assert.Equal("x-cookie: a=1\r\nx-cookie: b=2\r\nx-frame-options: DENY\r\nx-served-for: bob\r\n", Text(context.ResponseLines));

        // The next request on the connection starts clean.
        Begin(context, Encoding.ASCII.GetBytes(Request), consumer: null);
        Assert.False(context.HasResponseRemovals);
        Assert.False(context.IsResponseHeaderRemoved("server"u8));
    }

    [Fact]
    public void A_policy_without_response_edits_is_not_a_response_policy()
    {
        Assert.False(Build("""request = { add = { "x-a" = "1" } }""") is IResponsePolicy);
        Assert.IsAssignableFrom<IResponsePolicy>(Build("""response = { add = { "x-a" = "1" } }"""));
    }

    [Fact]
    public void A_value_longer_than_the_stack_buffer_is_expanded_whole()
    {
        var policy = Build("""request = { add = { "x-big" = "[{claim.big}]" } }""");
        var context = Context(Request, consumer: null);
        var big = new string('b', 3000);
        context.Claims = new Claims(("big", big));

        Run(policy, context);

        Assert.Equal($"x-big: [{big}]\r\n", Text(context.RequestLines));
    }

    [Fact]
    public void The_request_and_response_sides_allocate_nothing_per_request()
    {
        var policy = Build("""
            request = { remove = ["x-debug"], rename = { "x-old" = "x-new" }, set = { "x-user" = "{consumer} {client_ip}" }, add = { "x-id" = "{request_id}", "x-ua" = "{header.user-agent}", "x-sub" = "{claim.sub}" } }
            response = { remove = ["server"], set = { "x-frame-options" = "DENY" }, add = { "x-id" = "{request_id}" } }
            """);
        var chain = new PolicyChain([policy]);
        var request = Encoding.ASCII.GetBytes(Request);
        var responseBytes = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nServer: origin\r\nContent-Length: 0\r\n\r\n");
        var response = new ResponseHead();
        Assert.Equal(ParseStatus.Complete, ResponseParser.Parse(responseBytes, response, HeadLimits.Default));
        var context = new PolicyContext();
        var head = new RequestHead();
        var consumer = new Consumer(new ConsumerConfig { Name = "alice" });
        var claims = new Claims(("sub", "alice"));
        var client = IpValue.From(IPAddress.Parse("203.0.113.7"));

        void Once()
        {
            head.Reset();
            RequestParser.Parse(request, head, HeadLimits.Default);
            context.Begin(head, request, client, "203.0.113.7"u8, "r", secure: false);
            context.Consumer = consumer;
            context.Claims = claims;
            _ = chain.RunAsync(context).Result;
            chain.OnResponse(context, new ResponseView(response, responseBytes));
        }

        for (int i = 0; i < 10_000; i++) Once(); // JIT and tiering first
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++) Once();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Contains("x-user: alice 203.0.113.7\r\n", Text(context.RequestLines), StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 17's template fuzz (bounded: 2,000 requests from a fixed seed): random claim values (CR, LF, NUL, other
    /// controls, ':', non-ASCII) and random request field values through every template variable, on the request and
    /// the response side. Nothing throws, and every line recorded is one well-formed field line: a token name, ": ",
    /// a value without CR, LF, NUL or other controls, CRLF — no value can start a line of its own.
    /// </summary>
    [Fact]
    public void Fuzzed_claims_and_field_values_never_break_a_field_line()
    {
        var policy = Build("""
            request = { set = { "x-user" = "u={claim.sub};c={consumer}" }, add = { "x-echo" = "{header.x-in}|{claim.role}", "x-trace" = "{request_id}/{client_ip}" } }
            response = { set = { "x-who" = "{claim.sub}" }, add = { "x-in" = "[{header.x-in}]" } }
            """);
        var random = new Random(17);
        const string claimAlphabet = "ab:; =\r\n\0\t\u0001\u007f\u00e9\u2028\"%{}";
        const string fieldAlphabet = "ab:; =\t\"%{}~!\u00e9\u00ff";
        var context = new PolicyContext();
        for (int i = 0; i < 2000; i++)
        {
            string claim = RandomText(random, claimAlphabet), role = RandomText(random, claimAlphabet);
            string field = RandomText(random, fieldAlphabet).Trim(' ', '\t');
            var request = Encoding.Latin1.GetBytes($"GET /f HTTP/1.1\r\nHost: a\r\nX-In: {field}\r\n\r\n");
            Begin(context, request, consumer: i % 3 == 0 ? null : "alice");
            context.Claims = i % 5 == 0 ? null : new Claims(("sub", claim), ("role", role));

            Run(policy, context);
            RunResponse(policy, context, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");

            AssertFieldLines(context.RequestLines, i);
            AssertFieldLines(context.ResponseLines, i);
        }

        static string RandomText(Random random, string alphabet)
        {
            var chars = new char[random.Next(0, 24)];
            for (int c = 0; c < chars.Length; c++) chars[c] = alphabet[random.Next(alphabet.Length)];
            return new string(chars);
        }

        static void AssertFieldLines(ReadOnlySpan<byte> lines, int iteration)
        {
            string text = Text(lines);
            Assert.True(text.Length == 0 || text.EndsWith("\r\n", StringComparison.Ordinal), $"#{iteration}: {text}");
            foreach (var line in text.Split("\r\n")[..^1])
            {
                int colon = line.IndexOf(": ", StringComparison.Ordinal);
                Assert.True(colon > 0 && HeaderText.IsToken(line.AsSpan(0, colon)), $"#{iteration}: bad name in {line}");
                Assert.True(HeaderText.IsFieldValue(line.AsSpan(colon + 2)), $"#{iteration}: bad value in {line}");
                Assert.DoesNotContain('\r', line);
                Assert.DoesNotContain('\n', line);
            }
        }
    }

    internal static IPolicy Build(string sides)
    {
        var config = ConfigText.Load(ConfigText.Minimal + "\n\n[policies.h]\ntype = \"headers\"\n" + sides + "\n");
        return new PolicySet(config, new NoOutboundHttp()).Policies.Single();
    }

    private static HeaderSkips Skips(IPolicy policy) => policy switch
    {
        HeadersPolicy h => h.Skips,
        RequestHeadersPolicy r => r.Skips,
        _ => throw new InvalidOperationException(policy.GetType().Name),
    };

    private static PolicyContext Context(string request, string? consumer) => Context(Encoding.ASCII.GetBytes(request), consumer);

    private static PolicyContext Context(byte[] request, string? consumer)
    {
        var context = new PolicyContext();
        Begin(context, request, consumer);
        return context;
    }

    private static void Begin(PolicyContext context, byte[] request, string? consumer)
    {
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(request, head, HeadLimits.Default));
        context.Begin(head, request, IpValue.From(IPAddress.Parse("203.0.113.7")), "203.0.113.7"u8, "r", secure: false);
        if (consumer is not null) context.Consumer = new Consumer(new ConsumerConfig { Name = consumer });
    }

    private static void Run(IPolicy policy, PolicyContext context)
    {
        var pending = policy.OnRequestAsync(context);
        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Null(pending.Result);
    }

    private static void RunResponse(IPolicy policy, PolicyContext context, string responseHead)
    {
        var bytes = Encoding.ASCII.GetBytes(responseHead);
        var head = new ResponseHead();
        Assert.Equal(ParseStatus.Complete, ResponseParser.Parse(bytes, head, HeadLimits.Default));
        if (policy is IResponsePolicy response) response.OnResponse(context, new ResponseView(head, bytes));
    }

    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>Claims as a verified token would give them (the values as they came out of the JSON, escapes decoded).</summary>
    internal sealed class Claims(params (string Name, string Value)[] claims) : IClaims
    {
        private readonly (byte[] Name, byte[] Value)[] _claims = [.. claims.Select(c => (Encoding.UTF8.GetBytes(c.Name), Encoding.UTF8.GetBytes(c.Value)))];

        public bool TryGetText(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
        {
            foreach (var (n, v) in _claims)
            {
                if (n.AsSpan().SequenceEqual(name))
                {
                    value = v;
                    return true;
                }
            }
            value = default;
            return false;
        }

        public bool Contains(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => TryGetText(name, out var v) && v.SequenceEqual(value);
    }

    internal sealed class NoOutboundHttp : IOutboundHttp
    {
        public Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the headers policy makes no outbound calls");
    }
}
