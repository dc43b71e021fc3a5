using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Observability.Tracing;

/// <summary>
/// One request's trace context and id, filled when its head is complete and read by the head writers: the
/// traceparent and x-request-id lines the upstream receives, the x-request-id line the client receives, and (when
/// sampled) the span. One instance per pooled connection (an HTTP/2 stream's exchange has its own), reused for every
/// request: nothing is allocated per request, and the ids are numbers until they are written.
/// </summary>
internal sealed class RequestTrace
{
    /// <summary>"traceparent: " + 55 + CRLF, then "x-request-id: " + at most 128 + CRLF.</summary>
    public const int MaxRequestLinesLength = 13 + TraceParent.Length + 2 + MaxRequestIdLineLength;

    /// <summary>"x-request-id: " + at most 128 + CRLF.</summary>
    public const int MaxRequestIdLineLength = 14 + RequestIds.MaxLength + 2;

    public ulong TraceHigh { get; private set; }
    public ulong TraceLow { get; private set; }
    /// <summary>The proxy's span: the parent-id the upstream receives.</summary>
    public ulong SpanId { get; private set; }
    /// <summary>The client's parent-id when the trace was continued; 0 when the proxy started it.</summary>
    public ulong ParentId { get; private set; }
    /// <summary>trace-flags as forwarded: the client's when continued, else 01 when sampled.</summary>
    public byte Flags { get; private set; }
    /// <summary>The client sent a valid traceparent: its tracestate (if any) goes on with it.</summary>
    public bool Continued => ParentId != 0;
    /// <summary>Spans of this request are recorded and exported.</summary>
    public bool Sampled { get; private set; }

    /// <summary>The [tracing] of the generation the request started under; null: nothing is exported.</summary>
    public Tracer? Tracer { get; private set; }

    /// <summary>Set by <see cref="Begin"/>, cleared by <see cref="Clear"/> when a connection waits for its next request.</summary>
    public bool Active { get; private set; }

    /// <summary>The server span's id (sampled requests only; the client span's id is <see cref="SpanId"/>).</summary>
    public ulong ServerSpanId { get; private set; }

    // What a sampled request's spans say of it, copied out of the head (the receive buffer is gone by the end):
    // method (when not a standard one), path, host, client address and request id, each bounded.
    private const int MaxPath = 1024, MaxHost = 256, MaxMethod = 32, MaxClient = 64;
    private byte[]? _text;
    private (int Start, int Length) _methodText, _path, _host, _client, _id;

    /// <summary>Upstream attempts of a sampled request: when each started and which server it went to.</summary>
    private const int MaxAttempts = 8;
    private long[]? _attemptTimes;
    private Upstreams.UpstreamServer?[]? _attemptServers;
    public int Attempts { get; private set; }

    public ReadOnlySpan<byte> MethodText => Text(_methodText);
    public ReadOnlySpan<byte> Path => Text(_path);
    public ReadOnlySpan<byte> Host => Text(_host);
    public ReadOnlySpan<byte> Client => Text(_client);
    public ReadOnlySpan<byte> RequestIdText => Text(_id);

    public long AttemptTimestamp(int i) => _attemptTimes![i];
    public Upstreams.UpstreamServer AttemptServer(int i) => _attemptServers![i]!;

    private ReadOnlySpan<byte> Text((int Start, int Length) range) => _text.AsSpan(range.Start, range.Length);

    /// <summary>The connection waits for its next request: a refusal before the head is parsed must not see this one.</summary>
    public void Clear()
    {
        Active = false;
        Sampled = false;
        Tracer = null;
        if (Attempts > 0)
        {
            Array.Clear(_attemptServers!, 0, Attempts);
            Attempts = 0;
        }
    }

    /// <summary>A sampled request goes to a server (first try, or a retry): the client span starts with the first, later ones are its events.</summary>
    public void OnAttempt(Upstreams.UpstreamServer server)
    {
        if (Attempts == MaxAttempts) return;
        _attemptTimes ??= new long[MaxAttempts];
        _attemptServers ??= new Upstreams.UpstreamServer?[MaxAttempts];
        _attemptTimes[Attempts] = System.Diagnostics.Stopwatch.GetTimestamp();
        _attemptServers[Attempts] = server;
        Attempts++;
    }

    /// <summary>A generated id's number; 0 when the client's X-Request-Id is used.</summary>
    private ulong _generatedId;
    /// <summary>The client's X-Request-Id, copied (the receive buffer it came in is gone by the time the response is written).</summary>
    private byte[]? _sentId;
    private int _sentIdLength;

    /// <summary>
    /// Reads the request's traceparent and X-Request-Id, and decides sampling. <paramref name="tracer"/> null: nothing
    /// is exported (ids are still made and propagated, with the sampled flag off when the proxy starts the trace).
    /// </summary>
    public void Begin(RequestHead request, ReadOnlySpan<byte> head, Tracer? tracer, ReadOnlySpan<byte> client)
    {
        Active = true;
        Tracer = tracer;
        if (Attempts > 0)
        {
            Array.Clear(_attemptServers!, 0, Attempts);
            Attempts = 0;
        }
        int parents = 0, parentAt = -1, idAt = -1;
        var fields = request.Fields;
        for (int i = 0; i < fields.Length; i++)
        {
            var known = fields[i].Known;
            if (known == KnownHeader.TraceParent)
            {
                parents++;
                parentAt = i;
            }
            else if (known == KnownHeader.RequestId && idAt < 0)
            {
                idAt = i;
            }
        }

        // §3.2: more than one traceparent is as invalid as a malformed one; either way the proxy starts a new trace.
        if (parents == 1 && TraceParent.TryParse(fields[parentAt].Value(head), out ulong high, out ulong low, out ulong parent, out byte flags))
        {
            TraceHigh = high;
            TraceLow = low;
            ParentId = parent;
            Flags = flags;
            // The parent's decision stands (OpenTelemetry's ParentBased sampler).
            Sampled = tracer is not null && (flags & 1) != 0;
        }
        else
        {
            TraceHigh = FastRandom.Next();
            TraceLow = FastRandom.NextNonZero();
            ParentId = 0;
            Sampled = tracer is not null && tracer.Samples(TraceLow);
            Flags = Sampled ? (byte)1 : (byte)0;
        }
        SpanId = FastRandom.NextNonZero();

        // The same rules as PolicyContext's {request_id} (RequestIds): the client's first X-Request-Id when usable.
        if (idAt >= 0 && fields[idAt].Value(head) is var sent && RequestIds.IsUsable(sent))
        {
            sent.CopyTo(_sentId ??= new byte[RequestIds.MaxLength]);
            _sentIdLength = sent.Length;
            _generatedId = 0;
        }
        else
        {
            _generatedId = RequestIds.Next();
            _sentIdLength = 0;
        }
        if (Sampled) Capture(request, head, client);
    }

    /// <summary>Sampled requests only: a second span id, and the text the spans carry.</summary>
    private void Capture(RequestHead request, ReadOnlySpan<byte> head, ReadOnlySpan<byte> client)
    {
        ServerSpanId = FastRandom.NextNonZero();
        var text = _text ??= new byte[MaxMethod + MaxPath + MaxHost + MaxClient + RequestIds.MaxLength];
        int at = 0;
        _methodText = Put(text, ref at, request.MethodBytes(head), MaxMethod);
        _path = Put(text, ref at, request.Path(head), MaxPath);
        _host = Put(text, ref at, request.HostName(head), MaxHost);
        _client = Put(text, ref at, client, MaxClient);
        int idLength = WriteRequestId(text.AsSpan(at));
        _id = (at, idLength);
    }

    private static (int, int) Put(byte[] text, ref int at, ReadOnlySpan<byte> value, int max)
    {
        if (value.Length > max) value = value[..max];
        value.CopyTo(text.AsSpan(at));
        var range = (at, value.Length);
        at += value.Length;
        return range;
    }

    /// <summary>Writes the request id (at most <see cref="RequestIds.MaxLength"/> bytes); returns its length.</summary>
    public int WriteRequestId(Span<byte> destination)
    {
        if (_generatedId != 0) return RequestIds.Format(_generatedId, destination);
        _sentId.AsSpan(0, _sentIdLength).CopyTo(destination);
        return _sentIdLength;
    }

    /// <summary>Gives the request's id to the policy chain's view (its {request_id}), so both name the same id.</summary>
    public void HandIdTo(PolicyContext context)
    {
        Span<byte> id = stackalloc byte[RequestIds.MaxLength];
        context.SetRequestId(id[..WriteRequestId(id)]);
    }

    /// <summary>The lines the upstream receives: traceparent (the proxy's span as parent) and x-request-id.</summary>
    public int WriteRequestLines(Span<byte> destination)
    {
        "traceparent: "u8.CopyTo(destination);
        int w = 13;
        TraceParent.Write(destination[w..], TraceHigh, TraceLow, SpanId, Flags);
        w += TraceParent.Length;
        destination[w++] = (byte)'\r';
        destination[w++] = (byte)'\n';
        return w + WriteRequestIdLine(destination[w..]);
    }

    /// <summary>"x-request-id: ID\r\n" (at most <see cref="MaxRequestIdLineLength"/> bytes), for either side.</summary>
    public int WriteRequestIdLine(Span<byte> destination)
    {
        "x-request-id: "u8.CopyTo(destination);
        int w = 14;
        w += WriteRequestId(destination[w..]);
        destination[w++] = (byte)'\r';
        destination[w++] = (byte)'\n';
        return w;
    }
}
