using System.Buffers;
using System.Buffers.Text;
using System.Text;
using FastProxy.Http1;
using FastProxy.Observability.Tracing;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

/// <summary>
/// Writes an answer whose body an error_pages policy replaced, as an HTTP/1.1 response (an HTTP/2 stream converts it
/// like any other): the same status, the original answer's fields except those that described its old body
/// (Content-Type, Content-Length, Content-Encoding, ...), then the page's Content-Type and Content-Length, and the page
/// (none for HEAD). WWW-Authenticate, Retry-After, Allow and the RateLimit fields are never touched. No allocation: the
/// pages are built at load, the request id goes into the body on the way out.
/// </summary>
internal static class ErrorPageWriter
{
    private const int MaxFramingLength = 16 + 10 + 2 + 26; // Content-Length: digits CRLF, then the longest connection tail

    /// <summary>The proxy's own answer (a failed exchange, no route, a refused request).</summary>
    /// <param name="listenerLines">The listener's own fields (Strict-Transport-Security), or empty; likewise below.</param>
    public static int WriteOwn(IBufferWriter<byte> output, int status, ErrorPage page, ConnectionHeader connection, bool headRequest, RequestTrace? trace,
        ReadOnlySpan<byte> listenerLines = default)
    {
        Span<byte> id = stackalloc byte[RequestIds.MaxLength];
        var requestId = RequestId(trace, id);
        var statusLine = PolicyAnswerWriter.StatusLine(status);
        var span = output.GetSpan(statusLine.Length + DateHeader.LineLength + RequestTrace.MaxRequestIdLineLength + 32 + page.ContentTypeLine.Length
            + listenerLines.Length + MaxFramingLength + (headRequest ? 0 : page.Length(requestId)));
        int w = 0;
        Put(span, ref w, statusLine);
        Put(span, ref w, DateHeader.Line);
        if (trace is not null) w += trace.WriteRequestIdLine(span[w..]);
        Put(span, ref w, listenerLines);
        Put(span, ref w, "Server: fastproxy\r\n"u8);
        w += Finish(span[w..], page, requestId, connection, headRequest);
        output.Advance(w);
        return w;
    }

    /// <summary>A policy's answer (401, 403, 429, ...): its fields and the lines the chain added, with the page for a body.</summary>
    public static int WritePolicyAnswer(IBufferWriter<byte> output, PolicyAnswer answer, ErrorPage page, ReadOnlySpan<byte> extraLines,
        ConnectionHeader connection, bool headRequest, RequestTrace? trace, ReadOnlySpan<byte> listenerLines = default)
    {
        Span<byte> id = stackalloc byte[RequestIds.MaxLength];
        var requestId = RequestId(trace, id);
        var statusLine = PolicyAnswerWriter.StatusLine(answer.Status);
        var span = output.GetSpan(statusLine.Length + DateHeader.LineLength + RequestTrace.MaxRequestIdLineLength + answer.HeaderLines.Length
            + extraLines.Length + listenerLines.Length + page.ContentTypeLine.Length + MaxFramingLength + (headRequest ? 0 : page.Length(requestId)));
        int w = 0;
        Put(span, ref w, statusLine);
        Put(span, ref w, DateHeader.Line);
        if (trace is not null) w += trace.WriteRequestIdLine(span[w..]);
        Put(span, ref w, listenerLines);
        w += CopyLinesKeptWithNewBody(answer.HeaderLines, span[w..]);
        w += CopyLinesKeptWithNewBody(extraLines, span[w..]);
        w += Finish(span[w..], page, requestId, connection, headRequest);
        output.Advance(w);
        return w;
    }

    /// <summary>
    /// An upstream's answer (only_proxy_errors = false): its status line and fields as ResponseHeadWriter would pass
    /// them on (hop-by-hop fields dropped, a Date added when it sent none, the policies' edits applied), less the fields
    /// of its old body.
    /// </summary>
    public static int WriteUpstream(IBufferWriter<byte> output, ResponseHead response, ReadOnlySpan<byte> head, ErrorPage page, PolicyContext? policies,
        ConnectionHeader connection, bool headRequest, RequestTrace? trace, ReadOnlySpan<byte> listenerLines = default)
    {
        Span<byte> id = stackalloc byte[RequestIds.MaxLength];
        var requestId = RequestId(trace, id);
        bool hsts = !listenerLines.IsEmpty;
        var extraLines = policies is null ? default : policies.ResponseLines;
        bool removals = policies is { HasResponseRemovals: true };
        var span = output.GetSpan(response.HeadLength + 9 + DateHeader.LineLength + RequestTrace.MaxRequestIdLineLength + extraLines.Length + listenerLines.Length
            + page.ContentTypeLine.Length + MaxFramingLength + (headRequest ? 0 : page.Length(requestId)));
        int w = 0;
        Put(span, ref w, "HTTP/1.1 "u8);
        Put(span, ref w, head[response.StatusStart..response.StatusLineEnd]);
        bool dated = false, identified = false;
        foreach (ref readonly HeaderField field in response.Fields)
        {
            var name = field.Name(head);
            if (field.HopByHop || field.Known is KnownHeader.ContentLength or KnownHeader.TransferEncoding || DescribesBody(name)) continue;
            if (removals && policies!.IsResponseHeaderRemoved(name)) continue;
            if (hsts && HstsField.Is(name)) continue; // the listener's replaces the upstream's
            dated |= field.Known == KnownHeader.Date;
            identified |= field.Known == KnownHeader.RequestId;
            Put(span, ref w, head[field.LineStart..field.LineEnd]);
        }
        if (!dated) Put(span, ref w, DateHeader.Line);
        if (trace is not null && !identified) w += trace.WriteRequestIdLine(span[w..]);
        Put(span, ref w, listenerLines);
        w += CopyLinesKeptWithNewBody(extraLines, span[w..]);
        w += Finish(span[w..], page, requestId, connection, headRequest);
        output.Advance(w);
        return w;
    }

    /// <summary>The page's Content-Type and Content-Length, the connection handling, the end of the head, and the body.</summary>
    private static int Finish(Span<byte> span, ErrorPage page, ReadOnlySpan<byte> requestId, ConnectionHeader connection, bool headRequest)
    {
        int w = 0;
        Put(span, ref w, page.ContentTypeLine);
        Put(span, ref w, "Content-Length: "u8);
        Utf8Formatter.TryFormat(page.Length(requestId), span[w..], out int digits);
        w += digits;
        Put(span, ref w, "\r\n"u8);
        Put(span, ref w, connection switch
        {
            ConnectionHeader.Close => "Connection: close\r\n\r\n"u8,
            ConnectionHeader.KeepAlive => "Connection: keep-alive\r\n\r\n"u8,
            _ => "\r\n"u8,
        });
        if (!headRequest) w += page.Write(span[w..], requestId);
        return w;
    }

    /// <summary>Field lines (each ending in CRLF) less those that describe a body: the new body brings its own.</summary>
    private static int CopyLinesKeptWithNewBody(ReadOnlySpan<byte> lines, Span<byte> destination)
    {
        int w = 0;
        while (!lines.IsEmpty)
        {
            int end = lines.IndexOf("\r\n"u8);
            var line = end < 0 ? lines : lines[..(end + 2)];
            lines = end < 0 ? default : lines[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            var name = colon < 0 ? line : line[..colon];
            if (Ascii.EqualsIgnoreCase(name, "content-length"u8) || Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8) || DescribesBody(name)) continue;
            line.CopyTo(destination[w..]);
            w += line.Length;
        }
        return w;
    }

    /// <summary>The lines carry Content-Type: application/problem+json (a policy's answer that is an RFC 9457 problem already).</summary>
    public static bool IsProblem(ReadOnlySpan<byte> lines)
    {
        while (!lines.IsEmpty)
        {
            int end = lines.IndexOf("\r\n"u8);
            var line = end < 0 ? lines : lines[..end];
            lines = end < 0 ? default : lines[(end + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon == 12 && Ascii.EqualsIgnoreCase(line[..12], "content-type"u8))
            {
                var value = line[13..].Trim(" \t"u8);
                int semi = value.IndexOf((byte)';');
                return Ascii.EqualsIgnoreCase((semi < 0 ? value : value[..semi]).TrimEnd(" \t"u8), "application/problem+json"u8);
            }
        }
        return false;
    }

    /// <summary>
    /// Fields about the representation that is being dropped (RFC 9110 §8): kept, they would describe the page wrongly
    /// (a gzip Content-Encoding on a plain page, the old body's ETag or range). Content-Length is handled by the caller.
    /// </summary>
    internal static bool DescribesBody(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 => Ascii.EqualsIgnoreCase(name, "etag"u8),
        6 => Ascii.EqualsIgnoreCase(name, "digest"u8),
        11 => Ascii.EqualsIgnoreCase(name, "content-md5"u8) || Ascii.EqualsIgnoreCase(name, "repr-digest"u8),
        12 => Ascii.EqualsIgnoreCase(name, "content-type"u8),
        13 => Ascii.EqualsIgnoreCase(name, "content-range"u8) || Ascii.EqualsIgnoreCase(name, "last-modified"u8),
        14 => Ascii.EqualsIgnoreCase(name, "content-digest"u8),
        16 => Ascii.EqualsIgnoreCase(name, "content-encoding"u8) || Ascii.EqualsIgnoreCase(name, "content-language"u8)
            || Ascii.EqualsIgnoreCase(name, "content-location"u8),
        _ => false,
    };

    private static ReadOnlySpan<byte> RequestId(RequestTrace? trace, Span<byte> buffer) => trace is { Active: true } ? buffer[..trace.WriteRequestId(buffer)] : default;

    private static void Put(Span<byte> span, ref int w, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[w..]);
        w += bytes.Length;
    }
}
