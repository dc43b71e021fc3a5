using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Benchmarks.Gateway;

/// <summary>
/// The basic_auth policy on the paths a steady client takes: a {SHA} user (one SHA-1 and a constant-time compare) and
/// a bcrypt user whose success is remembered (an HMAC-SHA256 of user:password and a lookup; the bcrypt check itself,
/// tens of milliseconds by design, is paid once per cache_ttl). 0 B per operation.
/// </summary>
[MemoryDiagnoser]
public class BasicAuthBenchmarks
{
    // htpasswd -nbB -C 4 alice 'correct horse' and htpasswd -nbs bob 'battery staple'.
    private const string Users = "alice:$2y$04$kHALD9.ruMZwFL0d0HZUCubGORphUtdBSWqmyyNVk7OhaHBqZPMVu\nbob:{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=\n";

    private IPolicy _policy = null!;
    private byte[] _sha = null!;
    private byte[] _cached = null!;
    private readonly RequestHead _shaHead = new();
    private readonly RequestHead _cachedHead = new();
    private readonly PolicyContext _context = new();
    private readonly IpValue _client = IpValue.From(IPAddress.Loopback);
    private string _dir = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("fastproxy-bench-").FullName;
        File.WriteAllText(Path.Combine(_dir, "users"), Users);
        var loaded = ConfigLoader.Parse("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            policies = ["login"]

            [policies.login]
            type = "basic_auth"
            htpasswd = "users"
            """, "bench.toml", _dir, new ConfigLoadOptions());
        if (!loaded.Success) throw new InvalidOperationException(string.Join("\n", loaded.Errors));
        _policy = new PolicySet(loaded.Config, AuthnNoOutboundHttp.Instance).Policies.Single();

        _sha = Head(_shaHead, "bob:battery staple");
        _cached = Head(_cachedHead, "alice:correct horse");
        // The one bcrypt check, so that the benchmark measures the remembered success.
        _context.Begin(_cachedHead, _cached, _client, "127.0.0.1"u8, "api", secure: false);
        if (_policy.OnRequestAsync(_context).AsTask().GetAwaiter().GetResult() is not null) throw new InvalidOperationException("alice refused");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    private static byte[] Head(RequestHead head, string credentials)
    {
        var bytes = Encoding.ASCII.GetBytes($"GET /private HTTP/1.1\r\nHost: app\r\nAuthorization: Basic {Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials))}\r\nAccept: */*\r\n\r\n");
        if (RequestParser.Parse(bytes, head, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("bad head");
        return bytes;
    }

    [Benchmark(Baseline = true)]
    public PolicyAnswer? ShaUser()
    {
        _context.Begin(_shaHead, _sha, _client, "127.0.0.1"u8, "api", secure: false);
        return _policy.OnRequestAsync(_context).Result;
    }

    [Benchmark]
    public PolicyAnswer? BcryptUserRemembered()
    {
        _context.Begin(_cachedHead, _cached, _client, "127.0.0.1"u8, "api", secure: false);
        return _policy.OnRequestAsync(_context).Result;
    }
}
