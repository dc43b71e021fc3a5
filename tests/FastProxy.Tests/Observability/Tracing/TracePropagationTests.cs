using System.Text.RegularExpressions;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Upstreams.Http2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Observability.Tracing;

/// <summary>
/// W3C traceparent and x-request-id over real loopback sockets, curl over HTTP/1.1 and h2c to a raw origin (what it
/// receives, byte for byte) and to a Kestrel h2c origin: a trace is started when the client sent none, continued when
/// it sent a valid one (same trace-id, the proxy's own parent-id, flags and tracestate kept), restarted when it sent a
/// bad one (never forwarded); the request id is kept or generated, sent upstream and returned to the client.
/// </summary>
public sealed partial class TracePropagationTests
{
    private const string ClientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientParent = "00f067aa0ba902b7";

    [GeneratedRegex("^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")]
    private static partial Regex TraceParentPattern();

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex GeneratedIdPattern();

    private static (string TraceId, string ParentId, string Flags) Parse(string? traceparent)
    {
        Assert.NotNull(traceparent);
        var match = TraceParentPattern().Match(traceparent);
        Assert.True(match.Success, "not a valid traceparent: " + traceparent);
        Assert.NotEqual(new string('0', 32), match.Groups[1].Value);
        Assert.NotEqual(new string('0', 16), match.Groups[2].Value);
        return (match.Groups[1].Value, match.Groups[2].Value, match.Groups[3].Value);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_request_without_trace_context_starts_a_trace_and_gets_a_request_id(bool h2)
    {
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        var answer = await CurlAnswer.GetAsync(h2, proxy.Url("/a").ToString());
        var second = await CurlAnswer.GetAsync(h2, proxy.Url("/b").ToString());

        Assert.Equal(200, answer.Status);
        var seen = origin.Requests;
        Assert.Equal(2, seen.Count);
        var (trace1, _, flags) = Parse(seen[0].Header("traceparent"));
        var (trace2, _, _) = Parse(seen[1].Header("traceparent"));
        Assert.NotEqual(trace1, trace2);
        Assert.Equal("00", flags); // nothing is exported without [tracing] otlp_endpoint: not sampled
        Assert.Null(seen[0].Header("tracestate"));
        var id = seen[0].Header("x-request-id");
        Assert.Matches(GeneratedIdPattern(), id!);
        Assert.NotEqual(id, seen[1].Header("x-request-id"));
        // The client gets the id the upstream got (and the access log records).
        Assert.Equal(id, answer.Header("x-request-id"));
        Assert.Equal(seen[1].Header("x-request-id"), second.Header("x-request-id"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_valid_traceparent_is_continued_with_the_proxy_as_parent_and_tracestate_and_request_id_kept(bool h2)
    {
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        var answer = await CurlAnswer.GetAsync(h2, proxy.Url("/").ToString(),
            $"traceparent: 00-{ClientTrace}-{ClientParent}-01", "tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
            "X-Request-Id: client-id-42");

        var seen = Assert.Single(origin.Requests);
        var (trace, parent, flags) = Parse(seen.Header("traceparent"));
        Assert.Equal(ClientTrace, trace);
        Assert.NotEqual(ClientParent, parent);
        Assert.Equal("01", flags);
        Assert.Equal("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", seen.Header("tracestate"));
        Assert.Equal("client-id-42", seen.Header("x-request-id"));
        Assert.Equal("client-id-42", answer.Header("x-request-id"));
    }

    [Theory]
    [InlineData(false, "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01")] // uppercase hex
    [InlineData(true, "00-00000000000000000000000000000000-00f067aa0ba902b7-01")] // all-zero trace-id
    [InlineData(false, "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")] // all-zero parent-id
    [InlineData(true, "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")] // version ff
    [InlineData(false, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")] // version 00 is 55 characters
    [InlineData(true, "garbage")]
    public async Task An_invalid_traceparent_is_replaced_never_forwarded(bool h2, string bad)
    {
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        var answer = await CurlAnswer.GetAsync(h2, proxy.Url("/").ToString(), "traceparent: " + bad, "tracestate: congo=t61rcWkgMzE",
            "X-Request-Id: has a space");

        var seen = Assert.Single(origin.Requests);
        var (trace, _, _) = Parse(seen.Header("traceparent")); // one line only: Header() throws on two
        Assert.NotEqual(ClientTrace, trace);
        Assert.DoesNotContain(seen.HeaderLines, l => l.Contains(bad, StringComparison.OrdinalIgnoreCase));
        // tracestate means nothing without the traceparent it came with.
        Assert.Null(seen.Header("tracestate"));
        // An unusable id (spaces) is replaced by a generated one, the same on both sides.
        var id = seen.Header("x-request-id");
        Assert.Matches(GeneratedIdPattern(), id!);
        Assert.Equal(id, answer.Header("x-request-id"));
    }

    [Fact]
    public async Task Two_traceparent_fields_are_invalid_and_replaced()
    {
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        await CurlAnswer.GetAsync(false, proxy.Url("/").ToString(), $"traceparent: 00-{ClientTrace}-{ClientParent}-01",
            $"traceparent: 00-{ClientTrace}-{ClientParent}-01");

        var seen = Assert.Single(origin.Requests);
        var (trace, _, _) = Parse(seen.Header("traceparent"));
        Assert.NotEqual(ClientTrace, trace);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_h2c_upstream_receives_traceparent_and_request_id(bool h2)
    {
        await using var origin = await H2Origin.StartAsync(app => app.Map("/{**path}", ctx => ctx.Response.WriteAsync(
            $"{ctx.Request.Headers["traceparent"]}|{ctx.Request.Headers["x-request-id"]}|{ctx.Request.Headers["tracestate"]}")));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraUpstream: "protocol = \"h2c\""));

        var answer = await CurlAnswer.GetAsync(h2, proxy.Url("/").ToString(), $"traceparent: 00-{ClientTrace}-{ClientParent}-01",
            "tracestate: k=v", "x-request-id: r-1");

        var parts = answer.Body.Split('|');
        var (trace, parent, _) = Parse(parts[0]);
        Assert.Equal(ClientTrace, trace);
        Assert.NotEqual(ClientParent, parent);
        Assert.Equal("r-1", parts[1]);
        Assert.Equal("k=v", parts[2]);
        Assert.Equal("r-1", answer.Header("x-request-id"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_proxys_own_answers_carry_the_request_id(bool h2)
    {
        await using var proxy = TestProxy.Start("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "down"
            upstream = "down"
            [routes.match]
            path_prefix = "/down"

            [upstreams.down]
            servers = [ "127.0.0.1:1" ]
            """);

        var notFound = await CurlAnswer.GetAsync(h2, proxy.Url("/nothing").ToString(), "x-request-id: lost-1");
        var failed = await CurlAnswer.GetAsync(h2, proxy.Url("/down").ToString());

        Assert.Equal(404, notFound.Status);
        Assert.Equal("lost-1", notFound.Header("x-request-id"));
        Assert.Equal(502, failed.Status);
        Assert.Matches(GeneratedIdPattern(), failed.Header("x-request-id")!);
    }

    [Fact]
    public async Task A_servers_own_x_request_id_in_the_response_is_not_doubled()
    {
        await using var origin = new RawUpstream(r => RawUpstream.Ok("ok", "X-Request-Id: from-server\r\n"));
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));

        var answer = await CurlAnswer.GetAsync(false, proxy.Url("/").ToString(), "x-request-id: from-client");

        Assert.Equal("from-server", answer.Header("x-request-id"));
    }
}
