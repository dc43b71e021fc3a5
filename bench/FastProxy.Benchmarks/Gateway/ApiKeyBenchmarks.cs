using System.Net;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Benchmarks.Gateway;

/// <summary>
/// The api_key policy on one request context, as a connection runs it: a key in the header (found: SHA-256 of the
/// key and a digest lookup among 1,000 consumers), a key in the query (percent-decoded first), an unknown key and no
/// key (the two refusals). Each call begins the context again, as each request does. 0 B per operation.
/// </summary>
[MemoryDiagnoser]
public class ApiKeyBenchmarks
{
    private IPolicy _policy = null!;
    private Request _header = null!;
    private Request _query = null!;
    private Request _unknown = null!;
    private Request _missing = null!;

    [GlobalSetup]
    public void Setup()
    {
        var config = new StringBuilder("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            policies = ["keys"]

            [policies.keys]
            type = "api_key"
            query = "api_key"

            """);
        for (int i = 0; i < 1000; i++)
        {
            config.Append("[consumers.c").Append(i).Append("]\napi_keys = [\"sha256:").Append(Digest($"key-{i:D4}-0123456789abcdef")).Append("\"]\n");
        }
        var loaded = ConfigLoader.Parse(config.ToString(), "bench.toml", AppContext.BaseDirectory, new ConfigLoadOptions());
        if (!loaded.Success) throw new InvalidOperationException(string.Join("\n", loaded.Errors));
        _policy = new PolicySet(loaded.Config, AuthnNoOutboundHttp.Instance).Policies.Single();

        _header = new Request("GET /orders HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench\r\nX-Api-Key: key-0500-0123456789abcdef\r\nAccept: */*\r\n\r\n");
        _query = new Request("GET /orders?page=2&api_key=key-0500%2D0123456789abcdef HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n");
        _unknown = new Request("GET /orders HTTP/1.1\r\nHost: api.example.com\r\nX-Api-Key: key-9999-0123456789abcdef\r\n\r\n");
        _missing = new Request("GET /orders HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n");
    }

    private static string Digest(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    [Benchmark(Baseline = true)]
    public PolicyAnswer? HeaderKey() => _header.Run(_policy);

    [Benchmark]
    public PolicyAnswer? QueryKey() => _query.Run(_policy);

    [Benchmark]
    public PolicyAnswer? UnknownKey() => _unknown.Run(_policy);

    [Benchmark]
    public PolicyAnswer? NoKey() => _missing.Run(_policy);

    /// <summary>A parsed request head and the context a connection keeps for it.</summary>
    private sealed class Request
    {
        private readonly byte[] _bytes;
        private readonly RequestHead _head = new();
        private readonly PolicyContext _context = new();
        private readonly IpValue _client = IpValue.From(IPAddress.Loopback);

        public Request(string head)
        {
            _bytes = Encoding.ASCII.GetBytes(head);
            if (RequestParser.Parse(_bytes, _head, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("bad head");
        }

        public PolicyAnswer? Run(IPolicy policy)
        {
            _context.Begin(_head, _bytes, _client, "127.0.0.1"u8, "api", secure: false);
            var pending = policy.OnRequestAsync(_context);
            return pending.Result;
        }
    }
}

/// <summary>The authentication policies make no outbound calls.</summary>
internal sealed class AuthnNoOutboundHttp : IOutboundHttp
{
    public static readonly AuthnNoOutboundHttp Instance = new();

    public Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException();
}
