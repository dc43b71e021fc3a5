using System.Diagnostics;
using FastProxy.Http1;
using HttpMethod = FastProxy.Http1.HttpMethod;

namespace FastProxy.Observability.Tracing;

/// <summary>
/// A sampled request's spans as OTLP protobuf (opentelemetry-proto trace.proto and common.proto, field numbers
/// below): the server span (the request as the proxy served it) and, when it went to a server, a client span (the
/// upstream call, retries as events) whose id is the parent-id the upstream received. Written as repeated
/// <c>ScopeSpans.spans</c> fields, ready to be concatenated into an export request (<see cref="OtlpExporter"/>).
/// Attribute names follow the OpenTelemetry HTTP semantic conventions (http.request.method,
/// http.response.status_code, url.path, client.address, server.address, server.port, network.protocol.version).
/// </summary>
internal static class SpanEncoder
{
    // trace.proto: ScopeSpans.spans = 2; Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6,
    // start_time_unix_nano 7 (fixed64), end_time_unix_nano 8 (fixed64), attributes 9, events 11, status 15,
    // flags 16 (fixed32). Span.Event: time_unix_nano 1 (fixed64), name 2, attributes 3. Status: code 3.
    private const int ScopeSpansSpans = 2;
    private const int SpanTraceId = 1, SpanSpanId = 2, SpanParentSpanId = 4, SpanName = 5, SpanKind = 6, SpanStart = 7, SpanEnd = 8,
        SpanAttributes = 9, SpanEvents = 11, SpanStatus = 15, SpanFlags = 16;
    private const int EventTime = 1, EventName = 2, EventAttributes = 3;
    private const int StatusCode = 3;
    // common.proto: KeyValue key 1, value 2; AnyValue string_value 1, int_value 3.
    private const int KeyValueKey = 1, KeyValueValue = 2, AnyString = 1, AnyInt = 3;
    private const ulong KindServer = 2, KindClient = 3, StatusError = 2;

    /// <summary>Room for both spans: the captured text is bounded (RequestTrace), the rest is small.</summary>
    public const int MaxLength = 8 * 1024;

    private static readonly long s_baseTimestamp = Stopwatch.GetTimestamp();
    private static readonly long s_baseUnixNanos = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    /// <summary>Stopwatch ticks as nanoseconds since the Unix epoch.</summary>
    public static ulong UnixNanos(long timestamp)
        => (ulong)(s_baseUnixNanos + (long)((timestamp - s_baseTimestamp) * (1_000_000_000.0 / Stopwatch.Frequency)));

    /// <summary>Encodes the request's spans into <paramref name="destination"/> (at least <see cref="MaxLength"/>); returns the length and how many spans.</summary>
    public static int Encode(RequestRecord record, RequestTrace trace, Span<byte> destination, out int spans)
    {
        var w = new ProtoWriter(destination);
        long end = record.EndTimestamp != 0 ? record.EndTimestamp : Stopwatch.GetTimestamp();
        string method = MethodName(record.Method);
        bool failed = record.Status == 0 || record.Status >= 500;

        // The server span.
        int span = w.Begin(ScopeSpansSpans);
        w.Id(SpanTraceId, trace.TraceHigh, trace.TraceLow);
        w.Id(SpanSpanId, trace.ServerSpanId);
        if (trace.ParentId != 0) w.Id(SpanParentSpanId, trace.ParentId);
        // Semantic conventions: "{method} {target}" with a low-cardinality target: the route's name stands for http.route.
        SpanNameField(ref w, method, record.Route?.Name);
        w.Varint(SpanKind, KindServer);
        w.Fixed64(SpanStart, UnixNanos(record.StartTimestamp));
        w.Fixed64(SpanEnd, UnixNanos(end));
        Attribute(ref w, SpanAttributes, "http.request.method", method);
        if (record.Method == HttpMethod.Custom) Attribute(ref w, SpanAttributes, "http.request.method_original", trace.MethodText);
        Attribute(ref w, SpanAttributes, "url.path", trace.Path);
        Attribute(ref w, SpanAttributes, "url.scheme", record.Tls ? "https" : "http");
        Attribute(ref w, SpanAttributes, "network.protocol.name", "http");
        Attribute(ref w, SpanAttributes, "network.protocol.version",
            record.Protocol == RequestProtocol.H2 ? "2" : record.Version == HttpVersion.Http10 ? "1.0" : "1.1");
        if (!trace.Host.IsEmpty) Attribute(ref w, SpanAttributes, "server.address", trace.Host);
        if (!trace.Client.IsEmpty) Attribute(ref w, SpanAttributes, "client.address", trace.Client);
        if (record.Status != 0) Attribute(ref w, SpanAttributes, "http.response.status_code", record.Status);
        if (record.Route is { } named) Attribute(ref w, SpanAttributes, "http.route", named.Name);
        Attribute(ref w, SpanAttributes, "fastproxy.listener", record.Listener.Name);
        Attribute(ref w, SpanAttributes, "fastproxy.request_id", trace.RequestIdText);
        if (record.Flags != RequestFlags.None) Attribute(ref w, SpanAttributes, "fastproxy.flags", (long)record.Flags);
        w.Fixed32(SpanFlags, trace.Flags);
        // HTTP semantic conventions: a server span is an error for 5xx (and when nothing was answered), not for 4xx.
        if (failed) StatusErrorField(ref w);
        w.End(span);
        spans = 1;

        // The client span: the call to the upstream, when there was one (its last server; earlier tries are events).
        if (record.Upstream is { } upstream && trace.Attempts > 0)
        {
            var last = trace.AttemptServer(trace.Attempts - 1);
            span = w.Begin(ScopeSpansSpans);
            w.Id(SpanTraceId, trace.TraceHigh, trace.TraceLow);
            w.Id(SpanSpanId, trace.SpanId);
            w.Id(SpanParentSpanId, trace.ServerSpanId);
            w.String(SpanName, method);
            w.Varint(SpanKind, KindClient);
            w.Fixed64(SpanStart, UnixNanos(trace.AttemptTimestamp(0)));
            w.Fixed64(SpanEnd, UnixNanos(end));
            Attribute(ref w, SpanAttributes, "http.request.method", method);
            ServerAttributes(ref w, SpanAttributes, last);
            bool answered = record.UpstreamHeadTimestamp != 0;
            if (answered && record.Status != 0) Attribute(ref w, SpanAttributes, "http.response.status_code", record.Status);
            Attribute(ref w, SpanAttributes, "fastproxy.upstream", upstream.Name);
            if (trace.Attempts > 1) Attribute(ref w, SpanAttributes, "http.request.resend_count", trace.Attempts - 1);
            for (int i = 1; i < trace.Attempts; i++)
            {
                int evt = w.Begin(SpanEvents);
                w.Fixed64(EventTime, UnixNanos(trace.AttemptTimestamp(i)));
                w.String(EventName, "retry");
                Attribute(ref w, EventAttributes, "fastproxy.attempt", i + 1);
                ServerAttributes(ref w, EventAttributes, trace.AttemptServer(i));
                Attribute(ref w, EventAttributes, "fastproxy.failed_server", trace.AttemptServer(i - 1).Display);
                w.End(evt);
            }
            w.Fixed32(SpanFlags, trace.Flags);
            if (!answered || record.Status >= 500) StatusErrorField(ref w);
            w.End(span);
            spans = 2;
        }
        return w.Length;
    }

    private static void SpanNameField(ref ProtoWriter w, string method, string? route)
    {
        Span<byte> name = stackalloc byte[256];
        int n = System.Text.Encoding.ASCII.GetBytes(method, name);
        if (route is not null)
        {
            name[n++] = (byte)' ';
            var text = route.AsSpan(0, Math.Min(route.Length, 64)); // route names are short; 64 UTF-16 units fit in 192 bytes
            n += System.Text.Encoding.UTF8.GetBytes(text, name[n..]);
        }
        w.Bytes(SpanName, name[..n]);
    }

    private static void StatusErrorField(ref ProtoWriter w)
    {
        int status = w.Begin(SpanStatus);
        w.Varint(StatusCode, StatusError);
        w.End(status);
    }

    /// <summary>server.address and server.port from a configured "host:port" ("[v6]:port" too).</summary>
    /// <summary>
    /// server.address and server.port as OpenTelemetry defines them (the name as written, "app.internal", for a server from
    /// a host name, else its IP), and network.peer.address (the IP connected to) when that differs.
    /// </summary>
    private static void ServerAttributes(ref ProtoWriter w, int field, Upstreams.UpstreamServer server)
    {
        ServerAttributes(ref w, field, server.Declared);
        if (!ReferenceEquals(server.Declared, server.Address) && server.Declared != server.Address)
        {
            Span<byte> peer = stackalloc byte[64];
            if (server.EndPoint.Address.TryFormat(peer, out int written)) Attribute(ref w, field, "network.peer.address", peer[..written]);
        }
    }

    private static void ServerAttributes(ref ProtoWriter w, int field, string address)
    {
        int colon = address.LastIndexOf(':');
        var host = colon > 0 ? address.AsSpan(0, colon) : address.AsSpan();
        if (host.Length > 1 && host[0] == '[' && host[^1] == ']') host = host[1..^1];
        Span<byte> text = stackalloc byte[256];
        int n = System.Text.Encoding.UTF8.GetBytes(host.Length > 64 ? host[..64] : host, text);
        Attribute(ref w, field, "server.address", text[..n]);
        if (colon > 0 && int.TryParse(address.AsSpan(colon + 1), out int port)) Attribute(ref w, field, "server.port", port);
    }

    private static void Attribute(ref ProtoWriter w, int field, string key, string value)
    {
        int kv = w.Begin(field);
        w.String(KeyValueKey, key);
        int any = w.Begin(KeyValueValue);
        w.String(AnyString, value);
        w.End(any);
        w.End(kv);
    }

    private static void Attribute(ref ProtoWriter w, int field, string key, scoped ReadOnlySpan<byte> value)
    {
        int kv = w.Begin(field);
        w.String(KeyValueKey, key);
        int any = w.Begin(KeyValueValue);
        w.Bytes(AnyString, value);
        w.End(any);
        w.End(kv);
    }

    private static void Attribute(ref ProtoWriter w, int field, string key, long value)
    {
        int kv = w.Begin(field);
        w.String(KeyValueKey, key);
        int any = w.Begin(KeyValueValue);
        w.Varint(AnyInt, (ulong)value);
        w.End(any);
        w.End(kv);
    }

    /// <summary>Semantic conventions: the known methods by name, anything else "_OTHER" (with http.request.method_original).</summary>
    private static string MethodName(HttpMethod method) => method switch
    {
        HttpMethod.Get => "GET",
        HttpMethod.Head => "HEAD",
        HttpMethod.Post => "POST",
        HttpMethod.Put => "PUT",
        HttpMethod.Delete => "DELETE",
        HttpMethod.Options => "OPTIONS",
        HttpMethod.Trace => "TRACE",
        HttpMethod.Patch => "PATCH",
        HttpMethod.Connect => "CONNECT",
        _ => "_OTHER",
    };
}
