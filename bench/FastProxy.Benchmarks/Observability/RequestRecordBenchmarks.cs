using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Observability;

namespace FastProxy.Benchmarks.Observability;

/// <summary>
/// What recording a request costs with metrics on: the record filled as the request path fills it (begin, head, route,
/// upstream, status, timestamps) and completed through the hub into MetricsRegistry (requests by method and class, the
/// duration and upstream-time histograms, bytes; a few interlocked adds on this CPU's stripe). The baseline is the
/// hub with no observer (metrics off: the request path does not even fill the record). 0 bytes allocated.
/// </summary>
[MemoryDiagnoser]
public class RequestRecordBenchmarks
{
    private ProxyServices _on = null!;
    private ProxyServices _off = null!;
    private ListenerRuntime _listener = null!;
    private FastProxy.Routing.Route _route = null!;
    private readonly RequestRecord _record = new();
    private readonly RequestHead _head = new();
    private byte[] _bytes = null!;

    [GlobalSetup]
    public void Setup()
    {
        var loaded = ConfigLoader.Parse("""
            [admin]
            bind = "127.0.0.1:0"

            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "app"
            upstream = "app"

            [upstreams.app]
            servers = [{ address = "127.0.0.1:9" }]
            """, "bench.toml", AppContext.BaseDirectory);
        if (loaded.Config is null) throw new InvalidOperationException(string.Join("\n", loaded.Errors));
        var runtime = ProxyRuntime.Build(loaded.Config);
        _on = new ProxyServices(1000);
        _on.Metrics.Bind(runtime);
        _off = new ProxyServices(1000);
        _listener = runtime.Listeners["web"];
        _route = _listener.Router.Routes[0];
        _bytes = Encoding.ASCII.GetBytes("GET /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");
        _head.Reset();
        if (RequestParser.Parse(_bytes, _head, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("head did not parse");
        if (!_on.Observability.Enabled || _off.Observability.Enabled) throw new InvalidOperationException("metrics should be on for one, off for the other");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _on.Dispose();
        _off.Dispose();
    }

    /// <summary>Metrics off: what the request path pays is the Enabled check.</summary>
    [Benchmark(Baseline = true)]
    public bool Off() => _off.Observability.Enabled;

    /// <summary>Metrics on: the record filled and completed (every counter and histogram of one request).</summary>
    [Benchmark]
    public int On()
    {
        var record = _record;
        record.Begin(_listener, RequestProtocol.Http1, tls: false);
        record.CaptureHead(_head, _bytes, text: false);
        record.Route = _route;
        record.Upstream = _route.Upstream;
        record.UpstreamSentTimestamp = Stopwatch.GetTimestamp();
        record.UpstreamHeadTimestamp = record.UpstreamSentTimestamp + 1000;
        record.Status = 200;
        record.BytesIn = _bytes.Length;
        record.BytesOut = 120;
        _on.Observability.Complete(record);
        return record.Status;
    }

    /// <summary>As <see cref="On"/> with the request's text copied too (what an access log asks for).</summary>
    [Benchmark]
    public int OnWithText()
    {
        var record = _record;
        record.Begin(_listener, RequestProtocol.Http1, tls: false);
        record.CaptureHead(_head, _bytes, text: true);
        record.Route = _route;
        record.Upstream = _route.Upstream;
        record.Status = 200;
        _on.Observability.Complete(record);
        return record.Path.Length;
    }
}
