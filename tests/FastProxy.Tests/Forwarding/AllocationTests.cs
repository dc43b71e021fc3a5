using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// The hot path allocates nothing per request in steady state. Proven in a separate process
/// (tests/FastProxy.AllocationProbe) that holds only the proxy, an origin and a client which allocate nothing
/// themselves, so every managed byte the process allocates while requests flow is the proxy's.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class AllocationTests
{
    [Theory]
    [InlineData("GET /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")]
    [InlineData("POST /submit HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world")]
    [InlineData("POST /chunks HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")]
    public async Task Proxied_requests_allocate_nothing_in_steady_state(string request)
    {
        // Same configuration (Debug/Release) as these tests: bin/<configuration>/net10.0/.
        string configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        string probe = Path.Combine(Processes.RepoRoot, "tests", "FastProxy.AllocationProbe", "bin", configuration, "net10.0", "FastProxy.AllocationProbe.dll");
        var result = await Processes.RunAsync("dotnet", [probe, request.Replace("\r", "\\r").Replace("\n", "\\n"), "4", "20000"], TimeSpan.FromSeconds(120),
            // Fully optimised code from the first call, as in the native AOT binary (which has no JIT tiers): otherwise
            // the tier-1 recompilation of hot methods lands in the first window.
            environment: new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" });
        Assert.True(result.ExitCode == 0, result.StdErr);

        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' ')).ToDictionary(p => p[0], p => p[1..]);
        long[] windows = lines["allocated-bytes"].Select(long.Parse).ToArray();
        // The smallest object is 24 bytes, so anything allocated per request adds at least 480,000 bytes to every
        // window of 20,000 requests. What the runtime allocates now and then on its own (the wait event of a lock
        // the first time it is contended, a thread-pool thread starting) is tens to a few thousand bytes, once.
        Assert.True(windows.All(w => w < 20_000), $"bytes allocated per window of 20,000 proxied requests: {string.Join(", ", windows)}");
        Assert.Equal("1", lines["upstream-connections"][0]); // all of them over one pooled upstream connection
    }
}
