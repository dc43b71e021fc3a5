using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.RateLimit;

namespace FastProxy.Benchmarks.Gateway;

/// <summary>
/// The local rate-limit store's acquire (a key already seen among 10,000: hash, lock-free lookup, GCRA and one
/// compare-and-swap; and a key longer than 64 bytes, kept as its SHA-256), and the whole rate_limit policy on a request
/// context (the key built on the stack, RateLimit-Policy / RateLimit written). 0 B per operation.
/// </summary>
[MemoryDiagnoser]
public class RateLimitBenchmarks
{
    private LocalRateLimitStore _store = null!;
    private RateLimitRule _rule = null!;
    private byte[] _key = null!;
    private byte[] _longKey = null!;
    private IPolicy _policy = null!;
    private readonly RequestHead _head = new();
    private readonly PolicyContext _context = new();
    private byte[] _request = null!;
    private readonly IpValue _client = IpValue.From(IPAddress.Parse("192.0.2.10"));

    [GlobalSetup]
    public void Setup()
    {
        // Never refuses: the benchmark measures counting, not refusing.
        _rule = new RateLimitRule("bench", 0, new RateLimitRate(1_000_000, TimeSpan.FromSeconds(1)), burst: 1_000_000_000);
        _store = new LocalRateLimitStore(100_000);
        for (int i = 0; i < 10_000; i++) _store.Acquire(Encoding.ASCII.GetBytes($"\u0000i-192.0.2.{i}"), _rule);
        _key = Encoding.ASCII.GetBytes("\u0000i-192.0.2.10");
        _longKey = Encoding.ASCII.GetBytes("\u0000h-" + new string('t', 100));
        _store.Acquire(_longKey, _rule);

        var loaded = ConfigLoader.Parse("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            policies = ["rl"]

            [policies.rl]
            type = "rate_limit"
            key = "ip"
            rate = "1000000/s"
            burst = 1000000000
            """, "bench.toml", AppContext.BaseDirectory, new ConfigLoadOptions());
        if (!loaded.Success) throw new InvalidOperationException(string.Join("\n", loaded.Errors));
        _policy = new PolicySet(loaded.Config, AuthnNoOutboundHttp.Instance).Policies.Single();
        _request = Encoding.ASCII.GetBytes("GET /orders HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n");
        if (RequestParser.Parse(_request, _head, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("bad head");
    }

    [Benchmark(Baseline = true)]
    public bool StoreAcquire() => _store.Acquire(_key, _rule).IsAllowed;

    [Benchmark]
    public bool StoreAcquireLongKey() => _store.Acquire(_longKey, _rule).IsAllowed;

    [Benchmark]
    public PolicyAnswer? Policy()
    {
        _context.Begin(_head, _request, _client, "192.0.2.10"u8, "api", secure: false);
        return _policy.OnRequestAsync(_context).Result;
    }
}
