using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Configuration;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Routing;

namespace FastProxy.Benchmarks.Routing;

/// <summary>
/// One route lookup over 100 [[routes]], each matching a host and a path prefix (10 hosts × 10 services, in file
/// order), compiled from TOML by the proxy's own loader. Routes are tried in order, so the cost grows with the
/// position of the match: the middle of the table (typical), the last route, and no match at all (a 404, which
/// tries every route). The request head is parsed once; only the match is measured.
/// </summary>
[MemoryDiagnoser]
public class RouterBenchmarks
{
    private const int Hosts = 10;
    private const int ServicesPerHost = 10;

    private Router _router = null!;
    private (byte[] Bytes, RequestHead Head) _middle;
    private (byte[] Bytes, RequestHead Head) _last;
    private (byte[] Bytes, RequestHead Head) _none;

    [GlobalSetup]
    public void Setup()
    {
        var toml = new StringBuilder("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [upstreams.app]
            servers = [{ address = "127.0.0.1:9" }]

            """);
        for (int h = 0; h < Hosts; h++)
        {
            for (int s = 0; s < ServicesPerHost; s++)
            {
                toml.Append($"""

                    [[routes]]
                    name = "app{h}-service{s}"
                    upstream = "app"
                    [routes.match]
                    host = "app{h}.example.com"
                    path_prefix = "/service-{s}/"

                    """);
            }
        }

        var loaded = ConfigLoader.Parse(toml.ToString(), "bench.toml", AppContext.BaseDirectory);
        if (loaded.Config is null) throw new InvalidOperationException("benchmark config is invalid:\n" + string.Join("\n", loaded.Errors));
        _router = ProxyRuntime.Build(loaded.Config).Listeners["web"].Router;
        if (_router.Routes.Count != Hosts * ServicesPerHost) throw new InvalidOperationException($"expected 100 routes, got {_router.Routes.Count}");

        _middle = Request("app4.example.com", "/service-9/items/42", expectedRoute: "app4-service9"); // the 50th route
        _last = Request("app9.example.com", "/service-9/items/42", expectedRoute: "app9-service9"); // the 100th
        _none = Request("app9.example.com", "/unknown/items/42", expectedRoute: null);
    }

    // object: Route is internal; returning it keeps the call from being optimised away, and a class does not box.
    [Benchmark(Baseline = true)]
    public object? MatchMiddle() => _router.Match(_middle.Head, _middle.Bytes);

    [Benchmark]
    public object? MatchLast() => _router.Match(_last.Head, _last.Bytes);

    [Benchmark]
    public object? NoMatch() => _router.Match(_none.Head, _none.Bytes);

    private (byte[], RequestHead) Request(string host, string path, string? expectedRoute)
    {
        var bytes = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n");
        var head = new RequestHead();
        head.Reset();
        if (RequestParser.Parse(bytes, head, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException($"{host}{path} does not parse");
        var route = _router.Match(head, bytes);
        if (route?.Name != expectedRoute) throw new InvalidOperationException($"{host}{path} matched {route?.Name ?? "nothing"}, expected {expectedRoute ?? "nothing"}");
        return (bytes, head);
    }
}
