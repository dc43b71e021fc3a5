using System.Buffers;
using System.Text;
using FastProxy.Forwarding;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;
using FastProxy.Tests.Forwarding;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// error_pages costs no allocation per request: on the success path (the chain finds the policy and negotiates the
/// client's Accept for every request; the allocation probe under wrk and h2load, best of three), and when answering
/// (the page looked up and written, the request id in the problem body), measured on this thread's allocation counter.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class ErrorPagesAllocationTests
{
    private static readonly Dictionary<string, string> Gateway = new()
    {
        ["FASTPROXY_PROBE_ROUTE_POLICIES"] = "[\"pages\"]",
        ["FASTPROXY_PROBE_GATEWAY"] = """
            [policies.pages]
            type = "error_pages"
            format = "negotiate"
            only_proxy_errors = false
            """,
        ["FASTPROXY_PROBE_HEADERS"] = "Accept: text/html;q=0.9, application/json, */*;q=0.1",
    };

    [Fact]
    public async Task A_route_with_error_pages_allocates_nothing_per_request_over_http1()
        => await AssertAllocatesNothingAsync("--wrk", "16", "6");

    [Fact]
    public async Task A_route_with_error_pages_allocates_nothing_per_request_over_http2()
        => await AssertAllocatesNothingAsync("--h2load", "4", "8", "6");

    private static async Task AssertAllocatesNothingAsync(params string[] args)
    {
        var runs = new List<string>();
        for (int run = 0; run < 3; run++)
        {
            var lines = await AllocationTests.RunPinnedProbeAsync(Gateway, args);
            long requests = long.Parse(lines["requests"]);
            long allocated = long.Parse(lines["allocated-bytes"]);
            Assert.True(requests > 10_000, $"only {requests} requests");
            if (allocated < requests) return;
            runs.Add($"{allocated / (double)requests:F1} bytes per request over {requests}");
        }
        Assert.Fail("allocations with error_pages on the route in every run: " + string.Join("; ", runs));
    }

    [Fact]
    public void Choosing_finding_and_writing_a_page_allocates_nothing()
    {
        var config = Configuration.ConfigText.Load(Configuration.ConfigText.Minimal + "\npolicies = [\"pages\"]\n\n[policies.pages]\ntype = \"error_pages\"\n");
        var pages = (IErrorPages)new PolicySet(config, new NoHttp()).Find("pages")!;
        var headBytes = Encoding.ASCII.GetBytes("GET /x HTTP/1.1\r\nHost: a\r\nAccept: text/html;q=0.5, application/problem+json\r\n\r\n");
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(headBytes, head, HeadLimits.Default));
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        var trace = new FastProxy.Observability.Tracing.RequestTrace();
        trace.Begin(head, headBytes, null, "127.0.0.1"u8);

        void Once()
        {
            int format = pages.ChooseFormat(head, headBytes);
            var page = pages.Find(502, format)!;
            output.ResetWrittenCount();
            ErrorPageWriter.WriteOwn(output, 502, page, ConnectionHeader.None, headRequest: false, trace);
        }
        for (int i = 0; i < 100; i++) Once(); // the first calls may fill lazily built caches (status lines, Date)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Once();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        var text = Encoding.ASCII.GetString(output.WrittenSpan);
        Assert.StartsWith("HTTP/1.1 502 Bad Gateway\r\n", text);
        Assert.Contains("\r\nContent-Type: application/problem+json\r\n", text);
        var id = new byte[RequestIds.MaxLength];
        Assert.EndsWith("\"instance\":\"" + Encoding.ASCII.GetString(id, 0, trace.WriteRequestId(id)) + "\"}", text);
    }

    private sealed class NoHttp : IOutboundHttp
    {
        public Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken) => throw new InvalidOperationException();
    }
}
