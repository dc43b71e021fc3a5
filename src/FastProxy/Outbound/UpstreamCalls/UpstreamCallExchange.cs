using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FastProxy.Forwarding;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;
using FastProxy.Upstreams;

namespace FastProxy.Outbound.UpstreamCalls;

/// <summary>
/// One bodiless request and its whole answer on an upstream connection: the request head, the response head (the
/// forwarder's strict parser and limits; 1xx skipped), and a Content-Length, chunked or close-delimited body read up
/// to the call's cap. The connection goes back to its pool only when the exchange ended cleanly and both sides keep
/// it alive; anything else (a timeout, a cap passed, a bad answer) closes it. The call's token closes the socket
/// (<see cref="UpstreamConnection.Abort"/>), which ends whatever read or flush is pending.
/// </summary>
internal static class UpstreamCallExchange
{
    /// <summary>Trailer limits for a chunked answer (as a request head's defaults): trailers are read and dropped.</summary>
    private const int MaxTrailerBytes = 32 * 1024;
    private const int MaxTrailerFields = 100;

    /// <param name="connection">Pooled or new; owned from here (returned to the pool or disposed).</param>
    /// <returns>The result, and whether the connection turned out closed before any answer (on a reused one: try a fresh one).</returns>
    public static async ValueTask<(UpstreamCallResult Result, bool Stale)> RunAsync(UpstreamConnection connection, Upstream upstream, UpstreamCall call,
        CancellationToken cancellationToken)
    {
        var server = connection.Server;
        server.State.RequestStarted();
        server.Health.CountRequest();
        var head = new ResponseHead();
        bool reusable = false;
        var registration = cancellationToken.Register(static c => ((UpstreamConnection)c!).Abort(), connection);
        try
        {
            WriteRequest(connection.Output, server, call);
            FlushResult flushed;
            try
            {
                flushed = await connection.Output.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsConnectionError(ex))
            {
                flushed = new FlushResult(isCanceled: false, isCompleted: true);
            }
            if (flushed.IsCompleted) return (UpstreamCallResult.Failed(UpstreamCallOutcome.BadResponse), !cancellationToken.IsCancellationRequested);

            var input = connection.Input;
            ReadOnlySequence<byte> buffer;
            string? contentType, contentEncoding;
            byte[] headBytes;
            while (true)
            {
                head.Reset();
                var (parse, rest, closedEmpty, type, encoding, bytes) = await ReadHeadAsync(input, head).ConfigureAwait(false);
                contentType = type;
                contentEncoding = encoding;
                headBytes = bytes;
                if (parse != ParseStatus.Complete)
                {
                    bool stale = closedEmpty && !cancellationToken.IsCancellationRequested;
                    if (!stale && !cancellationToken.IsCancellationRequested) upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
                    return (UpstreamCallResult.Failed(UpstreamCallOutcome.BadResponse), stale);
                }
                buffer = rest;
                if (head.StatusCode >= 200) break;
                if (head.StatusCode == 101) return (UpstreamCallResult.Failed(UpstreamCallOutcome.BadResponse), false);
                // 1xx (100 Continue, 103 Early Hints): informational, the final answer follows.
                input.AdvanceTo(buffer.Start);
            }
            // Outlier detection as for forwarded requests: a 5xx continues a failure streak, anything else ends it.
            if (head.StatusCode >= 500) upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
            else OutlierDetector.Succeeded(server);

            int status = head.StatusCode;
            var kind = head.GetBodyKind(call.Method == "HEAD" ? HttpMethod.Head : HttpMethod.Get);
            input.AdvanceTo(buffer.Start);
            byte[] body;
            UpstreamCallOutcome outcome;
            switch (kind)
            {
                case BodyKind.None:
                    body = [];
                    outcome = UpstreamCallOutcome.Answered;
                    break;
                case BodyKind.ContentLength:
                    if (head.ContentLength > call.MaxBody) return (UpstreamCallResult.Failed(UpstreamCallOutcome.TooLarge), false);
                    (body, outcome) = await ReadLengthAsync(input, (int)head.ContentLength).ConfigureAwait(false);
                    break;
                case BodyKind.Chunked:
                    (body, outcome) = await ReadChunkedAsync(input, call.MaxBody).ConfigureAwait(false);
                    break;
                default:
                    (body, outcome) = await ReadToEndAsync(input, call.MaxBody).ConfigureAwait(false);
                    break;
            }
            if (outcome != UpstreamCallOutcome.Answered)
            {
                if (outcome == UpstreamCallOutcome.BadResponse && !cancellationToken.IsCancellationRequested)
                    upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
                return (UpstreamCallResult.Failed(outcome), false);
            }
            reusable = kind != BodyKind.CloseDelimited && head.KeepAlive;
            return (new UpstreamCallResult(UpstreamCallOutcome.Answered, status, body, contentType, contentEncoding, headBytes), false);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            return (UpstreamCallResult.Failed(UpstreamCallOutcome.BadResponse), false);
        }
        finally
        {
            // Waits for a cancellation callback that is running: after this, nobody aborts the connection behind our back.
            registration.Dispose();
            head.ReleaseFields();
            server.State.RequestEnded();
            if (reusable && !cancellationToken.IsCancellationRequested)
            {
                connection.Requests++;
                server.Pool.Return(connection, Transport.Heartbeat.NowMs);
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    private static void WriteRequest(PipeWriter output, UpstreamServer server, UpstreamCall call)
    {
        // The method, target and lines were built from checked bytes (tokens, percent-encoded targets, field values).
        var method = call.Method;
        int size = method.Length + call.PathAndQuery.Length + server.HostBytes.Length + call.HeaderLines.Length + 128;
        var span = output.GetSpan(size);
        int w = 0;
        w += Encoding.ASCII.GetBytes(method, span);
        span[w++] = (byte)' ';
        Put(span, ref w, call.PathAndQuery);
        Put(span, ref w, " HTTP/1.1\r\nHost: "u8);
        Put(span, ref w, server.HostBytes);
        Put(span, ref w, "\r\nx-forwarded-for: "u8);
        w += call.Client.Format(span[w..]);
        Put(span, ref w, "\r\n"u8);
        Put(span, ref w, call.HeaderLines);
        // RFC 9110 §8.6: a POST, PUT or PATCH without a body says so; other methods send no framing at all.
        if (method is "POST" or "PUT" or "PATCH") Put(span, ref w, "Content-Length: 0\r\n"u8);
        Put(span, ref w, "\r\n"u8);
        output.Advance(w);
    }

    private static void Put(Span<byte> span, ref int w, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[w..]);
        w += bytes.Length;
    }

    /// <summary>
    /// Reads until the response head is complete; returns the parse status, the buffer from the head's end on (not
    /// consumed yet), and whether the server closed before sending anything.
    /// </summary>
    private static async ValueTask<(ParseStatus Status, ReadOnlySequence<byte> Remaining, bool ClosedEmpty, string? ContentType, string? ContentEncoding, byte[] Head)> ReadHeadAsync(PipeReader input, ResponseHead head)
    {
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    ParseStatus status;
                    ReadOnlyMemory<byte> parsed;
                    if (buffer.IsSingleSegment)
                    {
                        parsed = buffer.First;
                        status = ResponseParser.Parse(parsed.Span, head, Http1Connection.ResponseLimits);
                    }
                    else
                    {
                        int length = (int)Math.Min(buffer.Length, Http1Connection.MaxResponseHeadBytes);
                        if (scratch is null || scratch.Length < length)
                        {
                            if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
                            scratch = ArrayPool<byte>.Shared.Rent(length);
                        }
                        buffer.Slice(0, length).CopyTo(scratch);
                        head.Reset();
                        parsed = scratch.AsMemory(0, length);
                        status = ResponseParser.Parse(parsed.Span, head, Http1Connection.ResponseLimits);
                    }
                    if (status == ParseStatus.Complete)
                    {
                        return (status, buffer.Slice(head.HeadLength), false,
                            FieldText(head, parsed.Span, "content-type"u8), FieldText(head, parsed.Span, "content-encoding"u8), parsed.Span[..head.HeadLength].ToArray());
                    }
                    if (status == ParseStatus.Error) return (status, default, false, null, null, []);
                }
                if (result.IsCompleted || result.IsCanceled) return (ParseStatus.Error, default, buffer.IsEmpty, null, null, []);
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>The first field of that name as text (Latin-1: a field value is bytes), or null.</summary>
    private static string? FieldText(ResponseHead head, ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> name)
    {
        foreach (ref readonly var field in head.Fields)
        {
            if (field.NameLength == name.Length && Ascii.EqualsIgnoreCase(field.Name(bytes), name)) return Encoding.Latin1.GetString(field.Value(bytes));
        }
        return null;
    }

    private static async ValueTask<(byte[] Body, UpstreamCallOutcome Outcome)> ReadLengthAsync(PipeReader input, int length)
    {
        var body = new byte[length];
        int have = 0;
        while (have < length)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            int take = (int)Math.Min(buffer.Length, length - have);
            buffer.Slice(0, take).CopyTo(body.AsSpan(have));
            have += take;
            input.AdvanceTo(buffer.GetPosition(take));
            if (have < length && (result.IsCompleted || result.IsCanceled)) return ([], UpstreamCallOutcome.BadResponse);
        }
        return (body, UpstreamCallOutcome.Answered);
    }

    private static async ValueTask<(byte[] Body, UpstreamCallOutcome Outcome)> ReadChunkedAsync(PipeReader input, int maxBody)
    {
        var decoder = new ChunkedDecoder(maxBody, MaxTrailerBytes, MaxTrailerFields);
        var body = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            long consumedTotal = 0;
            bool done = false;
            foreach (var segment in buffer)
            {
                var span = segment.Span;
                while (!span.IsEmpty)
                {
                    var step = decoder.Next(span, out int consumed);
                    if (step == ChunkedStep.Error)
                    {
                        input.AdvanceTo(buffer.Start);
                        return ([], decoder.Error == ChunkedError.BodyTooLarge ? UpstreamCallOutcome.TooLarge : UpstreamCallOutcome.BadResponse);
                    }
                    if (step == ChunkedStep.Data) body.Write(span[..consumed]);
                    span = span[consumed..];
                    consumedTotal += consumed;
                    if (step == ChunkedStep.Done)
                    {
                        done = true;
                        break;
                    }
                }
                if (done) break;
            }
            input.AdvanceTo(buffer.GetPosition(consumedTotal));
            if (done || decoder.IsDone) return (body.WrittenSpan.ToArray(), UpstreamCallOutcome.Answered);
            if (result.IsCompleted || result.IsCanceled) return ([], UpstreamCallOutcome.BadResponse);
        }
    }

    private static async ValueTask<(byte[] Body, UpstreamCallOutcome Outcome)> ReadToEndAsync(PipeReader input, int maxBody)
    {
        var body = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            var buffer = result.Buffer;
            if (body.WrittenCount + buffer.Length > maxBody)
            {
                input.AdvanceTo(buffer.End);
                return ([], UpstreamCallOutcome.TooLarge);
            }
            foreach (var segment in buffer) body.Write(segment.Span);
            input.AdvanceTo(buffer.End);
            if (result.IsCompleted) return (body.WrittenSpan.ToArray(), UpstreamCallOutcome.Answered);
            if (result.IsCanceled) return ([], UpstreamCallOutcome.BadResponse);
        }
    }

    private static bool IsConnectionError(Exception ex)
        => ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException
            or Pipelines.Sockets.Unofficial.ConnectionResetException or Pipelines.Sockets.Unofficial.ConnectionAbortedException or InvalidOperationException;
}
