using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Observability.AccessLog;

/// <summary>
/// With the access log on (JSON lines to a file), requests still allocate nothing in steady state: the request record
/// keeps its text in its own array, the line is formatted into a queue slot, the writer copies slots into its batch.
/// Measured like the plain path (tests/FastProxy.AllocationProbe, wrk and h2load as clients).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class AccessLogAllocationTests
{
    [Fact]
    public Task Json_access_log_to_a_file_allocates_nothing_per_http1_request() => AssertAllocatesNothingAsync("--wrk", "64", "6");

    [Fact]
    public Task Json_access_log_to_a_file_allocates_nothing_per_http2_stream() => AssertAllocatesNothingAsync("--h2load", "4", "8", "6");

    private static async Task AssertAllocatesNothingAsync(params string[] args)
    {
        using var log = new AccessLogFile();
        // The defaults but for the path: what an operator would run.
        var environment = new Dictionary<string, string>
        {
            ["FASTPROXY_PROBE_GATEWAY"] = $"[access_log]\npath = \"{log.Path}\"\nformat = \"json\"\n",
        };
        await AllocationTests.AssertBestOfThreeAsync(environment, "allocations with the access log on", args, lines =>
        {
            // The log was really on: lines reached the file.
            Assert.True(log.Lines().Length > 1000, $"{log.Lines().Length} lines in the access log");
        });
    }
}
