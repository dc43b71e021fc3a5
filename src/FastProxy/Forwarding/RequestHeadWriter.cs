using System.Buffers;
using FastProxy.Http1;
using FastProxy.Observability.Tracing;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

/// <summary>What the forwarded request head needs beyond the client's head.</summary>
internal readonly ref struct RequestRewrite
{
    /// <summary>The client's address as text, for X-Forwarded-For.</summary>
    public ReadOnlySpan<byte> ClientAddress { get; init; }
    /// <summary>"http" or "https", for X-Forwarded-Proto.</summary>
    public ReadOnlySpan<byte> Scheme { get; init; }
    /// <summary>Removed from the front of the path (route strip_prefix); empty: none.</summary>
    public ReadOnlySpan<byte> StripPrefix { get; init; }
    /// <summary>Host to send when the client sent none (HTTP/1.0): the server's address.</summary>
    public ReadOnlySpan<byte> FallbackHost { get; init; }
    /// <summary>Keep the Upgrade field and say Connection: upgrade (WebSocket handshakes).</summary>
    public bool Upgrade { get; init; }
    /// <summary>
    /// The body was read whole and de-chunked (request_buffering): it goes with this Content-Length instead of the
    /// client's framing, and without Expect (the proxy answered it). Null: the body goes as the client framed it.
    /// </summary>
    public long? BufferedLength { get; init; }
    /// <summary>
    /// The peer is a [client_ip] trusted proxy: the client's X-Forwarded-For list is kept and the peer appended. Else
    /// the list is replaced by the peer's address (a client cannot plant addresses in it).
    /// </summary>
    public bool TrustForwardedFor { get; init; }
    /// <summary>What gateway policies changed (fields dropped, lines added, query parameters dropped); null: no policies ran.</summary>
    public PolicyContext? Policies { get; init; }
    /// <summary>
    /// The request's trace context and id: the client's traceparent and x-request-id lines are replaced by the
    /// proxy's (tracestate kept only with a continued trace). Null: the fields pass as they came.
    /// </summary>
    public RequestTrace? Trace { get; init; }
    /// <summary>
    /// A "content-type: ...\r\n" line that replaces the client's content-type (gRPC-Web converted to gRPC); empty:
    /// the client's passes.
    /// </summary>
    public ReadOnlySpan<byte> ContentTypeLine { get; init; }
}

/// <summary>
/// Writes the request head the upstream receives: the client's head with hop-by-hop fields removed (RFC 9110
/// §7.6.1), the target in origin-form, and X-Forwarded-For/-Proto/-Host and Via added. Kept field lines are
/// copied as raw runs straight from the receive buffer, never re-serialised.
/// </summary>
internal static class RequestHeadWriter
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    public static void Write(IBufferWriter<byte> output, RequestHead request, ReadOnlySpan<byte> head, in RequestRewrite rewrite)
    {
        // Upper bound: the head itself, the authority twice (Host and X-Forwarded-Host), the address and the fixed lines.
        var policies = rewrite.Policies;
        int bound = request.HeadLength + 2 * request.HostLength + rewrite.ClientAddress.Length + rewrite.FallbackHost.Length + 224
            + (rewrite.BufferedLength is null ? 0 : 40) + (policies is null ? 0 : policies.RequestLines.Length + policies.TargetGrowth)
            + (rewrite.Trace is null ? 0 : RequestTrace.MaxRequestLinesLength) + rewrite.ContentTypeLine.Length;
        var span = output.GetSpan(bound);
        int w = 0;

        // request-line
        Put(span, ref w, request.MethodBytes(head));
        span[w++] = (byte)' ';
        WriteTarget(span, ref w, request, head, rewrite.StripPrefix, policies);
        Put(span, ref w, " HTTP/1.1\r\n"u8);

        // Field lines: runs of kept lines are contiguous in the buffer and copied in one go.
        int runStart = -1, runEnd = -1;
        bool anyForwardedFor = false;
        bool buffered = rewrite.BufferedLength is not null;
        var trace = rewrite.Trace;
        // With a trace, the proxy writes traceparent and x-request-id itself; tracestate belongs to the client's
        // traceparent and goes only with it (W3C Trace Context §3.3: not without a valid traceparent).
        bool traced = trace is not null, continued = trace is { Continued: true };
        var removed = policies is null ? default : policies.RemovedHeaders;
        int index = -1, nextRemoved = 0;
        bool contentTypeReplaced = !rewrite.ContentTypeLine.IsEmpty;
        foreach (ref readonly HeaderField field in request.Fields)
        {
            index++;
            bool dropped = nextRemoved < removed.Length && removed[nextRemoved] == index;
            if (dropped) nextRemoved++;
            dropped |= contentTypeReplaced && IsContentType(field.Name(head));
            bool keep = !dropped && !field.HopByHop
                && field.Known is not (KnownHeader.XForwardedFor or KnownHeader.XForwardedProto or KnownHeader.XForwardedHost or KnownHeader.Consumer)
                && !(field.Known == KnownHeader.Host && request.HostFromTarget)
                && !(buffered && field.Known is (KnownHeader.TransferEncoding or KnownHeader.ContentLength or KnownHeader.Expect))
                && !(traced && (field.Known is KnownHeader.TraceParent or KnownHeader.RequestId || (field.Known == KnownHeader.TraceState && !continued)));
            anyForwardedFor |= field.Known == KnownHeader.XForwardedFor && !field.HopByHop;
            if (keep)
            {
                if (runStart < 0) runStart = field.LineStart;
                runEnd = field.LineEnd;
            }
            else if (runStart >= 0)
            {
                Put(span, ref w, head[runStart..runEnd]);
                runStart = -1;
            }
        }
        if (runStart >= 0) Put(span, ref w, head[runStart..runEnd]);

        if (request.HostLength > 0)
        {
            if (request.HostFromTarget)
            {
                // RFC 9112 §3.2.2: with an absolute-form target, the target's authority replaces Host.
                Put(span, ref w, "Host: "u8);
                Put(span, ref w, request.Host(head));
                Put(span, ref w, Crlf);
            }
        }
        else if (!rewrite.FallbackHost.IsEmpty)
        {
            Put(span, ref w, "Host: "u8);
            Put(span, ref w, rewrite.FallbackHost);
            Put(span, ref w, Crlf);
        }

        // X-Forwarded-For: the client's list, then the client (as nginx's $proxy_add_x_forwarded_for), on one line.
        Put(span, ref w, "X-Forwarded-For: "u8);
        if (anyForwardedFor && rewrite.TrustForwardedFor)
        {
            foreach (ref readonly HeaderField field in request.Fields)
            {
                // A client that named X-Forwarded-For in Connection asked for it to stop here.
                if (field.Known != KnownHeader.XForwardedFor || field.ValueLength == 0 || field.HopByHop) continue;
                Put(span, ref w, field.Value(head));
                Put(span, ref w, ", "u8);
            }
        }
        Put(span, ref w, rewrite.ClientAddress);
        Put(span, ref w, Crlf);

        // The client's own X-Forwarded-Proto/-Host were dropped above: they describe this hop, so we set them.
        Put(span, ref w, "X-Forwarded-Proto: "u8);
        Put(span, ref w, rewrite.Scheme);
        Put(span, ref w, Crlf);
        if (request.HostLength > 0)
        {
            Put(span, ref w, "X-Forwarded-Host: "u8);
            Put(span, ref w, request.Host(head));
            Put(span, ref w, Crlf);
        }

        if (rewrite.BufferedLength is long length)
        {
            Put(span, ref w, "Content-Length: "u8);
            System.Buffers.Text.Utf8Formatter.TryFormat(length, span[w..], out int digits);
            w += digits;
            Put(span, ref w, Crlf);
        }

        if (trace is not null) w += trace.WriteRequestLines(span[w..]);
        Put(span, ref w, rewrite.ContentTypeLine);

        // The gateway's lines: x-consumer, claims, copied auth headers... (each checked for CR/LF when recorded).
        if (policies is not null) Put(span, ref w, policies.RequestLines);

        // RFC 9110 §7.6.3: each proxy appends itself to Via with the protocol version it received.
        Put(span, ref w, request.Version == HttpVersion.Http11 ? "Via: 1.1 fastproxy\r\n"u8 : "Via: 1.0 fastproxy\r\n"u8);

        // TE is hop-by-hop, but this hop takes trailers when the client does (passed through in chunked form, or
        // converted to HTTP/2 trailers), so it says so itself; RFC 9110 §10.1.4 wants "te" in Connection with it.
        // gRPC servers require "TE: trailers".
        if (request.AcceptsTrailers) Put(span, ref w, "TE: trailers\r\n"u8);
        if (rewrite.Upgrade)
        {
            int upgrade = request.IndexOf(KnownHeader.Upgrade);
            Put(span, ref w, request.Fields[upgrade].Line(head));
            Put(span, ref w, request.AcceptsTrailers ? "Connection: upgrade, te\r\n"u8 : "Connection: upgrade\r\n"u8);
        }
        else if (request.AcceptsTrailers)
        {
            Put(span, ref w, "Connection: te\r\n"u8);
        }
        Put(span, ref w, Crlf);
        output.Advance(w);
    }

    private static void WriteTarget(Span<byte> span, ref int w, RequestHead request, ReadOnlySpan<byte> head, ReadOnlySpan<byte> stripPrefix,
        PolicyContext? policies)
    {
        if (request.TargetForm == TargetForm.Asterisk)
        {
            span[w++] = (byte)'*';
            return;
        }
        var pathAndQuery = request.PathAndQuery(head);
        bool queryEdited = policies is { QueryEdited: true };
        if (policies is { PathSet: true })
        {
            // A policy's path (rewrite, version) replaces the client's and strip_prefix's result; it starts with '/'
            // and was checked and encoded when set. The query goes on, as the client sent it or as edited.
            Put(span, ref w, policies.EditedPath);
            if (!queryEdited) Put(span, ref w, pathAndQuery[request.PathLength..]);
        }
        else
        {
            if (queryEdited) pathAndQuery = request.Path(head);
            if (!stripPrefix.IsEmpty && pathAndQuery.StartsWith(stripPrefix))
            {
                pathAndQuery = pathAndQuery[stripPrefix.Length..];
            }
            // origin-form always starts with '/': "http://host" or "http://host?q", or a fully stripped path, gets one.
            if (pathAndQuery.IsEmpty || pathAndQuery[0] != (byte)'/') span[w++] = (byte)'/';
            Put(span, ref w, pathAndQuery);
        }
        if (queryEdited)
        {
            // A credential taken out of the query (api_key query = "..."), parameters set by rewrite: the rest goes on.
            int length = policies!.CopyEditedQuery(span[(w + 1)..]);
            if (length > 0)
            {
                span[w] = (byte)'?';
                w += length + 1;
            }
        }
    }

    private static void Put(Span<byte> span, ref int w, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[w..]);
        w += bytes.Length;
    }

    internal static bool IsContentType(ReadOnlySpan<byte> name)
        => name.Length == 12 && System.Text.Ascii.EqualsIgnoreCase(name, "content-type"u8);
}

/// <summary>
/// Writes the response head the client receives: our status line version, hop-by-hop fields removed, and a Date when
/// the server sent none (RFC 9110 §6.6.1: a recipient with a clock MUST add one to a response it forwards without).
/// The server's own Date passes unchanged. Gateway policies' edits apply here: the fields they remove
/// (<see cref="PolicyContext.IsResponseHeaderRemoved"/>) are not copied, the lines they add follow the server's.
/// </summary>
internal static class ResponseHeadWriter
{
    public static void Write(IBufferWriter<byte> output, ResponseHead response, ReadOnlySpan<byte> head, ConnectionHeader connection,
        bool dropTransferEncoding, bool upgrade, PolicyContext? policies = null, RequestTrace? trace = null,
        ReadOnlySpan<byte> contentLines = default, ReadOnlySpan<byte> listenerLines = default)
    {
        // contentLines (gRPC-Web): they replace the server's content-type and framing fields.
        bool contentReplaced = !contentLines.IsEmpty;
        var extraLines = policies is null ? default : policies.ResponseLines;
        // Only a chain that removed something costs a name comparison per field.
        bool removals = policies is { HasResponseRemovals: true };
        // [listeners.hsts]: the listener's Strict-Transport-Security replaces the server's (a length test per field
        // only on such listeners); interim (1xx) responses carry none.
        bool hsts = !listenerLines.IsEmpty && response.StatusCode >= 200;
        var span = output.GetSpan(response.HeadLength + 48 + DateHeader.LineLength + extraLines.Length + listenerLines.Length
            + (trace is null ? 0 : RequestTrace.MaxRequestIdLineLength) + contentLines.Length);
        int w = 0;
        // We speak HTTP/1.1 to the client whatever the server spoke (RFC 9110 §2.5).
        "HTTP/1.1 "u8.CopyTo(span);
        w += 9;
        var statusLine = head[response.StatusStart..response.StatusLineEnd];
        statusLine.CopyTo(span[w..]);
        w += statusLine.Length;

        int runStart = -1, runEnd = -1;
        bool dated = false, identified = false;
        foreach (ref readonly HeaderField field in response.Fields)
        {
            bool keep = (!field.HopByHop || (upgrade && field.Known == KnownHeader.Upgrade))
                && !(dropTransferEncoding && field.Known == KnownHeader.TransferEncoding)
                && !(removals && policies!.IsResponseHeaderRemoved(field.Name(head)))
                && !(hsts && HstsField.Is(field.Name(head)))
                && !(contentReplaced && (field.Known is KnownHeader.ContentLength or KnownHeader.TransferEncoding
                    || RequestHeadWriter.IsContentType(field.Name(head))));
            // A Date that is not passed on is no Date: the client gets the proxy's.
            dated |= keep && field.Known == KnownHeader.Date;
            identified |= keep && field.Known == KnownHeader.RequestId;
            if (keep)
            {
                if (runStart < 0) runStart = field.LineStart;
                runEnd = field.LineEnd;
            }
            else if (runStart >= 0)
            {
                head[runStart..runEnd].CopyTo(span[w..]);
                w += runEnd - runStart;
                runStart = -1;
            }
        }
        if (runStart >= 0)
        {
            head[runStart..runEnd].CopyTo(span[w..]);
            w += runEnd - runStart;
        }
        // Interim (1xx) responses need none.
        if (!dated && response.StatusCode >= 200)
        {
            DateHeader.Line.CopyTo(span[w..]);
            w += DateHeader.LineLength;
        }

        // The request's id, so that a client can quote it (the access log has it): unless the server answered with one.
        if (trace is not null && !identified) w += trace.WriteRequestIdLine(span[w..]);

        if (hsts)
        {
            listenerLines.CopyTo(span[w..]);
            w += listenerLines.Length;
        }

        contentLines.CopyTo(span[w..]);
        w += contentLines.Length;

        // Lines gateway policies add (CORS, headers policy), after the server's own.
        extraLines.CopyTo(span[w..]);
        w += extraLines.Length;

        var tail = upgrade ? "Connection: upgrade\r\n\r\n"u8
            : connection switch
            {
                ConnectionHeader.Close => "Connection: close\r\n\r\n"u8,
                ConnectionHeader.KeepAlive => "Connection: keep-alive\r\n\r\n"u8,
                _ => "\r\n"u8,
            };
        tail.CopyTo(span[w..]);
        w += tail.Length;
        output.Advance(w);
    }
}
