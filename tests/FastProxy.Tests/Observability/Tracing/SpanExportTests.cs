using System.Buffers;
using FastProxy.Configuration;
using FastProxy.Observability.Tracing;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Observability.Tracing;

/// <summary>
/// Span export end to end: a real proxy, a raw origin, and an OTLP/HTTP receiver (Kestrel on loopback) whose POSTs
/// are decoded with a protobuf reader of the test's own. Spans carry the right trace id, names, attributes and
/// parent/child links; retries appear as events; sample = 0 exports nothing; a collector that is down changes nothing
/// for requests; a full queue drops and counts.
/// </summary>
[Collection(NonParallel.Name)] // TracingCounters are process-wide
public sealed class SpanExportTests
{
    private const string ClientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientParent = "00f067aa0ba902b7";

    private static string Config(IEnumerable<int> origins, string endpoint, string sample = "1", string extraUpstream = "") =>
        TestProxy.SimpleConfig(origins, extraUpstream: extraUpstream, extraTop: $"""
            [tracing]
            otlp_endpoint = "{endpoint}"
            sample = {sample}
            batch_size = 1
            export_interval = "100ms"
            """);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_continued_trace_is_exported_as_a_server_span_and_a_client_span_linked_to_the_upstream(bool h2)
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config([origin.Port], collector.Endpoint));

        var answer = await CurlAnswer.GetAsync(h2, proxy.Url("/orders/7?x=1").ToString(), $"traceparent: 00-{ClientTrace}-{ClientParent}-01",
            "x-request-id: req-77", "User-Agent: test-agent");
        Assert.Equal(200, answer.Status);

        await Wait.UntilAsync(() => collector.Spans.Count >= 2, "two spans at the collector");
        Assert.All(collector.Posts, p => Assert.Equal("application/x-protobuf", p.ContentType));
        var spans = collector.Spans;
        var server = Assert.Single(spans, s => s.Kind == 2);
        var client = Assert.Single(spans, s => s.Kind == 3);

        // One trace: the client's. The server span continues the client's parent; the client span is its child,
        // and is what the origin saw as its parent.
        Assert.Equal(ClientTrace, server.TraceId);
        Assert.Equal(ClientTrace, client.TraceId);
        Assert.Equal(ClientParent, server.ParentSpanId);
        Assert.Equal(server.SpanId, client.ParentSpanId);
        var forwarded = Assert.Single(origin.Requests).Header("traceparent");
        Assert.Equal($"00-{ClientTrace}-{client.SpanId}-01", forwarded);
        Assert.NotEqual(server.SpanId, client.SpanId);

        Assert.Equal("GET app", server.Name);
        Assert.Equal("GET", client.Name);
        Assert.Equal("GET", server.Attributes["http.request.method"]);
        Assert.Equal("200", server.Attributes["http.response.status_code"]);
        Assert.Equal("/orders/7", server.Attributes["url.path"]);
        Assert.Equal("127.0.0.1", server.Attributes["client.address"]);
        Assert.Equal(h2 ? "2" : "1.1", server.Attributes["network.protocol.version"]);
        Assert.Equal("app", server.Attributes["http.route"]);
        Assert.Equal("req-77", server.Attributes["fastproxy.request_id"]);
        Assert.Equal("127.0.0.1", client.Attributes["server.address"]);
        Assert.Equal(origin.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), client.Attributes["server.port"]);
        Assert.Equal("200", client.Attributes["http.response.status_code"]);
        Assert.Equal("app", client.Attributes["fastproxy.upstream"]);
        Assert.Equal(1u, server.Flags & 0xff);
        Assert.True(server.Start > 1_600_000_000UL * 1_000_000_000 && server.End >= server.Start, $"{server.Start}..{server.End}");
        Assert.True(client.Start >= server.Start && client.End <= server.End + 1_000_000);
        Assert.Equal(0UL, server.StatusCode);

        var resource = DecodedSpan.Decode(collector.Posts[0].Body).Resource;
        Assert.Equal("fastproxy", resource["service.name"]);
    }

    [Fact]
    public async Task A_started_trace_is_sampled_at_sample_1_and_the_upstream_sees_the_sampled_flag()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config([origin.Port], collector.Endpoint));

        await CurlAnswer.GetAsync(false, proxy.Url("/").ToString());

        await Wait.UntilAsync(() => collector.Spans.Count >= 2, "two spans at the collector");
        var server = Assert.Single(collector.Spans, s => s.Kind == 2);
        Assert.Equal("", server.ParentSpanId); // a root span
        var forwarded = Assert.Single(origin.Requests).Header("traceparent");
        Assert.StartsWith($"00-{server.TraceId}-", forwarded);
        Assert.EndsWith("-01", forwarded);
    }

    [Fact]
    public async Task A_retry_is_an_event_of_the_client_span()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        // The first server closes every connection without answering; the retry goes to the second.
        await using var broken = new RawUpstream(r => null);
        await using var good = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config([broken.Port, good.Port], collector.Endpoint,
            extraUpstream: "[upstreams.app.retry]\nattempts = 1"));

        for (int i = 0; i < 2; i++) Assert.Equal(200, (await CurlAnswer.GetAsync(false, proxy.Url("/").ToString())).Status);

        await Wait.UntilAsync(() => collector.Spans.Count(s => s.Kind == 3) >= 2, "two client spans");
        // Round robin sends each request to the broken server first (the retry moves the turn on by one): both are retried.
        var clients = collector.Spans.Where(s => s.Kind == 3).ToList();
        Assert.Equal(2, clients.Count);
        foreach (var retried in clients)
        {
            var retry = Assert.Single(retried.Events);
            Assert.Equal("retry", retry.Name);
            Assert.Equal(good.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), retry.Attributes["server.port"]);
            Assert.Equal($"127.0.0.1:{broken.Port}", retry.Attributes["fastproxy.failed_server"]);
            Assert.Equal("2", retry.Attributes["fastproxy.attempt"]);
            Assert.Equal("1", retried.Attributes["http.request.resend_count"]);
            Assert.Equal(good.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), retried.Attributes["server.port"]);
        }
    }

    [Fact]
    public async Task Sample_0_exports_nothing_and_a_parents_unsampled_flag_is_followed()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using (var proxy = TestProxy.Start(Config([origin.Port], collector.Endpoint, sample: "0")))
        {
            for (int i = 0; i < 5; i++) await CurlAnswer.GetAsync(i % 2 == 0, proxy.Url("/").ToString());
        }
        await using (var proxy = TestProxy.Start(Config([origin.Port], collector.Endpoint, sample: "1")))
        {
            // sample = 1, but the client's trace says "not sampled": its decision stands.
            await CurlAnswer.GetAsync(false, proxy.Url("/").ToString(), $"traceparent: 00-{ClientTrace}-{ClientParent}-00");
            // A sampled request after it, so that the wait below has something to wait for.
            await CurlAnswer.GetAsync(false, proxy.Url("/").ToString(), $"traceparent: 00-{ClientTrace[..31]}1-{ClientParent}-01");
            await Wait.UntilAsync(() => collector.Spans.Count >= 2, "the sampled request's spans");
        }
        // Stopping flushed both proxies' exporters: all that ever arrived is the one sampled request.
        Assert.Equal(7, origin.Requests.Count);
        Assert.All(collector.Spans, s => Assert.Equal(ClientTrace[..31] + "1", s.TraceId));
        Assert.Equal(2, collector.Spans.Count);
    }

    [Fact]
    public async Task A_collector_that_is_down_costs_requests_nothing_and_the_failures_are_counted()
    {
        int closedPort;
        using (var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            holder.Start();
            closedPort = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        }
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(Config([origin.Port], $"http://127.0.0.1:{closedPort}"));
        long failedBefore = TracingCounters.SpansFailed;

        for (int i = 0; i < 20; i++)
        {
            var answer = await CurlAnswer.GetAsync(i % 2 == 1, proxy.Url("/").ToString());
            Assert.Equal(200, answer.Status);
            Assert.Equal("ok", answer.Body);
        }

        Assert.Equal(20, origin.Requests.Count);
        await Wait.UntilAsync(() => TracingCounters.SpansFailed > failedBefore, "failed exports counted");
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_without_waiting()
    {
        // A collector that never answers in time would hold the loop; here the loop waits an hour between sends.
        using var exporter = new OtlpExporter(new TracingConfig
        {
            OtlpEndpoint = new Uri("http://127.0.0.1:9"),
            QueueSize = 2,
            BatchSize = 100,
            ExportInterval = TimeSpan.FromHours(1),
        });
        long droppedBefore = TracingCounters.SpansDropped;
        for (int i = 0; i < 5; i++) exporter.Enqueue(ArrayPool<byte>.Shared.Rent(16), 0, 2);
        Assert.Equal(droppedBefore + 6, TracingCounters.SpansDropped);
        await Task.CompletedTask;
    }
}
