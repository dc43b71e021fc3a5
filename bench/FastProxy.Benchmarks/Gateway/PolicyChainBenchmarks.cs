using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Benchmarks.Gateway;

/// <summary>
/// One request through a policy chain, as the forwarder runs it: the PolicyContext begins over a parsed request head
/// (a curl-like request with an API key), then the chain runs a headers policy (request: a field removed, one set from
/// {consumer}, one added from {request_id} and {header.NAME}; response: a field removed, one set) and a trivial policy
/// that lets the request go on, then the response side on a parsed response head. The baseline is Begin alone (what
/// any chain costs before its first policy). Everything must be 0 B per operation.
/// </summary>
[MemoryDiagnoser]
public class PolicyChainBenchmarks
{
    private static readonly byte[] Request = Encoding.ASCII.GetBytes(
        "GET /api/v1/items?page=2 HTTP/1.1\r\n" +
        "Host: api.example.com\r\n" +
        "User-Agent: curl/8.5.0\r\n" +
        "Accept: */*\r\n" +
        "X-Api-Key: 5f3c9a1e7b4d4e8f9a0b1c2d3e4f5a6b\r\n" +
        "X-Debug: 1\r\n" +
        "\r\n");

    private static readonly byte[] Response = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\nServer: origin\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n");

    private const string Config = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        upstream = "api"
        policies = ["edit"]

        [upstreams.api]
        servers = ["127.0.0.1:9"]

        [policies.edit]
        type = "headers"
        request = { remove = ["x-debug"], set = { "x-user" = "{consumer}" }, add = { "x-request-id" = "{request_id}", "x-agent" = "agent={header.user-agent}" } }
        response = { remove = ["server"], set = { "X-Frame-Options" = "DENY" } }
        """;

    private readonly RequestHead _head = new();
    private readonly ResponseHead _response = new();
    private readonly PolicyContext _context = new();
    private readonly IpValue _client = IpValue.From(IPAddress.Parse("203.0.113.7"));
    private PolicyChain _chain = null!;
    private Consumer _consumer = null!;

    [GlobalSetup]
    public void Setup()
    {
        var result = ConfigLoader.Parse(Config, "bench.toml", AppContext.BaseDirectory);
        if (result.Config is null) throw new InvalidOperationException(string.Join("\n", result.Errors));
        var set = new PolicySet(result.Config, new NoOutboundHttp());
        _chain = new PolicyChain([.. set.Policies, new PassPolicy()]);
        _consumer = new Consumer(new ConsumerConfig { Name = "alice" });
        if (RequestParser.Parse(Request, _head, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("request does not parse");
        if (ResponseParser.Parse(Response, _response, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("response does not parse");
        // The benchmark measures nothing if the edits are not made: check them once.
        RequestAndResponse();
        var lines = Encoding.ASCII.GetString(_context.RequestLines);
        if (!lines.Contains("x-user: alice", StringComparison.Ordinal) || !lines.Contains("agent=curl/8.5.0", StringComparison.Ordinal)
            || !_context.IsResponseHeaderRemoved("server"u8) || Encoding.ASCII.GetString(_context.ResponseLines) != "X-Frame-Options: DENY\r\n")
        {
            throw new InvalidOperationException("the chain did not make its edits: " + lines);
        }
    }

    [Benchmark(Baseline = true)]
    public void BeginOnly() => Begin();

    [Benchmark]
    public PolicyAnswer? RequestSide()
    {
        Begin();
        var pending = _chain.RunAsync(_context);
        return pending.IsCompletedSuccessfully ? pending.Result : throw new InvalidOperationException("a synchronous chain went asynchronous");
    }

    [Benchmark]
    public int RequestAndResponse()
    {
        var answer = RequestSide();
        _chain.OnResponse(_context, new ResponseView(_response, Response));
        return answer is null ? _context.ResponseLines.Length : -1;
    }

    private void Begin()
    {
        _context.Begin(_head, Request, _client, "203.0.113.7"u8, "api", secure: false);
        // What an api_key policy ahead of the headers policy would have found.
        _context.Consumer = _consumer;
    }

    /// <summary>A policy that lets every request go on (the cost of one more link in the chain).</summary>
    private sealed class PassPolicy : IPolicy
    {
        public string Name => "pass";

        public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
    }

    private sealed class NoOutboundHttp : IOutboundHttp
    {
        public Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("no outbound calls in this benchmark");
    }
}
