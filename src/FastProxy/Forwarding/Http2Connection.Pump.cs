using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Http1;
using FastProxy.Http2.Frames;
using FastProxy.Http2.HPack;
using FastProxy.Observability.Tracing;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

internal sealed partial class Http2Connection : IThreadPoolWorkItem
{
    /// <summary>
    /// Frames written but not yet sent below this many octets wait for the connection's shared flush (see
    /// <see cref="AfterWrite"/>); at or above it the writer flushes at once and waits for the socket, which is the
    /// back-pressure a slow client puts on the streams' pumps.
    /// </summary>
    private const int CoalesceLimit = 32 * 1024;

    /// <summary>
    /// The pumps' response heads: one per stream in flight, reset with their field arrays given back (a head dropped
    /// with its array would cost the field-array pool an array per stream).
    /// </summary>
    private static readonly Microsoft.Extensions.ObjectPool.ObjectPool<ResponseHead> s_responseHeads =
        new Microsoft.Extensions.ObjectPool.DefaultObjectPool<ResponseHead>(new ResponseHeadPolicy(), maximumRetained: 1024);

    private sealed class ResponseHeadPolicy : Microsoft.Extensions.ObjectPool.IPooledObjectPolicy<ResponseHead>
    {
        public ResponseHead Create() => new();

        public bool Return(ResponseHead head)
        {
            head.Reset();
            head.ReleaseFields();
            return true;
        }
    }

    /// <summary>A shared flush is queued and has not yet run (under the write lock).</summary>
    private bool _flushScheduled;

    private enum Sent : byte
    {
        /// <summary>The frame went out.</summary>
        Ok,
        /// <summary>The stream was reset or the connection is closing: stop.</summary>
        Stopped,
    }

    /// <summary>The stream's exchange handed over its first HTTP/1.1 bytes (see <see cref="Http2ResponseWriter"/>): they are pumped from here.</summary>
    internal void StartPump(Http2Stream stream)
    {
        // Called by the exchange, which owns the record: the pump owns it too until it ends.
        if (!stream.TryRetain()) throw new InvalidOperationException($"stream {stream.Id} pumped after it ended");
        Interlocked.Increment(ref _runningPumps);
        _ = PumpAsync(stream);
    }

    /// <summary>
    /// The exchange's upstream response, complete (head and whole body), as frames at once: HEADERS and, when there
    /// is a body, one DATA, both with what the pump would make of the same response. Only when the body fits both
    /// send windows and one frame and the stream is open; false otherwise (the exchange then writes HTTP/1.1 bytes
    /// for the pump). Waits for the write lock like a pump, and, when the connection's unsent output is large, for
    /// the flush. <paramref name="headBytes"/> and <paramref name="body"/> stay the caller's until this ends.
    /// </summary>
    internal ValueTask<bool> AnswerAsync(Http2Stream stream, ResponseHead head, ReadOnlyMemory<byte> headBytes, ReadOnlySequence<byte> body,
        PolicyContext? policies = null, RequestTrace? trace = null, byte[]? hsts = null)
    {
        if (head.StatusCode < 200 || body.Length > _peerMaxFrameSize) return new ValueTask<bool>(false);
        if (_writeLock.TryEnter()) return AnswerLocked(stream, head, headBytes.Span, body, policies, trace, hsts);
        return AnswerAfterLockAsync(stream, head, headBytes, body, policies, trace, hsts);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AnswerAfterLockAsync(Http2Stream stream, ResponseHead head, ReadOnlyMemory<byte> headBytes, ReadOnlySequence<byte> body,
        PolicyContext? policies, RequestTrace? trace, byte[]? hsts)
    {
        await _writeLock.EnterAsync();
        return await AnswerLocked(stream, head, headBytes.Span, body, policies, trace, hsts);
    }

    /// <summary>Caller holds the write lock; it is released here, or after the flush this returns waiting for.</summary>
    private ValueTask<bool> AnswerLocked(Http2Stream stream, ResponseHead head, ReadOnlySpan<byte> headBytes, in ReadOnlySequence<byte> body,
        PolicyContext? policies, RequestTrace? trace, byte[]? hsts)
    {
        bool release = true;
        try
        {
            if (_closing || stream.Aborted) return new ValueTask<bool>(false);
            int length = (int)body.Length;
            if (length > 0)
            {
                lock (_sync)
                {
                    if (Math.Min(stream.SendWindow.Available, _windows.Send.Available) < length) return new ValueTask<bool>(false);
                    stream.SendWindow.Take(length);
                    _windows.Send.Take(length);
                }
            }
            bool endOnHeaders = length == 0;
            if (!WriteHeaders(stream, head, headBytes, endOnHeaders, policies, trace, hsts))
            {
                // As in SendHeadersAsync: the block is sized so this cannot happen; HPACK state would be lost.
                _closing = true;
                return new ValueTask<bool>(true);
            }
            if (!endOnHeaders) Http2FrameWriter.WriteData(_output, stream.Id, body, endStream: true);
            lock (_sync)
            {
                stream.State.OnSend(Http2FrameType.Headers, endOnHeaders);
                if (!endOnHeaders) stream.State.OnSend(Http2FrameType.Data, endStream: true);
            }
            FinishStream(stream, ended: true);
            var flushed = AfterWrite();
            if (!flushed.IsCompleted)
            {
                release = false;
                return ReleaseAfterAsync(flushed);
            }
            flushed.GetAwaiter().GetResult();
            return new ValueTask<bool>(true);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            _closing = true;
            return new ValueTask<bool>(true);
        }
        finally
        {
            if (release) _writeLock.Exit();
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReleaseAfterAsync(ValueTask<Sent> flush)
    {
        try
        {
            await flush;
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            _closing = true;
        }
        finally
        {
            _writeLock.Exit();
        }
        return true;
    }

    /// <summary>
    /// One stream's response, from the HTTP/1.1 bytes its exchange writes to HEADERS and DATA frames. 1xx heads go
    /// as interim HEADERS; connection-specific fields are removed (§8.2.2) and names lowercased; the body is unframed
    /// (Content-Length, chunked, or up to the close) and sent as the client's windows allow, reading the pipe no
    /// faster than that; a chunked body's trailer fields become a last HEADERS frame with END_STREAM (§8.1).
    /// </summary>
    private async Task PumpAsync(Http2Stream stream)
    {
        var reader = stream.Response!.Reader;
        var head = s_responseHeads.Get();
        byte[]? scratch = null;
        int scratchLength = 0;
        bool ended = false;
        try
        {
            // 1. The final response head.
            ReadResult result;
            ReadOnlySequence<byte> buffer;
            while (true)
            {
                head.Reset();
                ParseStatus status;
                while (true)
                {
                    result = await reader.ReadAsync();
                    buffer = result.Buffer;
                    if (stream.Aborted) return;
                    status = buffer.IsEmpty ? ParseStatus.NeedMore
                        : ResponseParser.Parse(Http1Connection.GetContiguous(buffer, ref scratch, ref scratchLength, Http1Connection.MaxResponseHeadBytes),
                            head, Http1Connection.ResponseLimits);
                    if (status != ParseStatus.NeedMore || result.IsCompleted) break;
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (status != ParseStatus.Complete)
                {
                    // The exchange ended without an answer (the client's request failed on its side): nothing to convert.
                    await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                    return;
                }
                if (head.StatusCode >= 200) break;
                // 1xx (100 Continue for a client's Expect, 103 Early Hints): an interim HEADERS frame without
                // END_STREAM, before the final one (RFC 9113 §8.1). The exchange relays no 101 to a stream (an HTTP/2
                // request carries no Upgrade).
                if (await SendHeadersAsync(stream, head, buffer, scratch, scratchLength, endStream: false) != Sent.Ok) return;
                reader.AdvanceTo(buffer.GetPosition(head.HeadLength));
                ReturnScratch(ref scratch, ref scratchLength);
            }

            var kind = head.GetBodyKind(stream.Method);
            bool endOnHeaders = kind == BodyKind.None;
            if (kind == BodyKind.Chunked && HoldsGrpcStatus(head, buffer, scratch, scratchLength))
            {
                // gRPC's Trailers-Only form (grpc-status in the head, no message): it must reach the client as one
                // HEADERS with END_STREAM, and only the (empty) body tells where the response ends. Held until then,
                // or until data comes after all.
                HoldHead(stream, head, buffer, scratch, scratchLength);
            }
            else if (await SendHeadersAsync(stream, head, buffer, scratch, scratchLength, endOnHeaders) != Sent.Ok)
            {
                return;
            }
            reader.AdvanceTo(buffer.GetPosition(head.HeadLength));
            ReturnScratch(ref scratch, ref scratchLength);
            if (endOnHeaders)
            {
                ended = true;
                return;
            }

            // 2. The body.
            long remaining = kind == BodyKind.ContentLength ? head.ContentLength : long.MaxValue;
            if (kind == BodyKind.Chunked) stream.Chunks = new ChunkedDecoder(maxBody: 0, Http1Connection.ResponseLimits.MaxHeaderBytes, Http1Connection.ResponseLimits.MaxHeaders);
            while (true)
            {
                result = await reader.ReadAsync();
                buffer = result.Buffer;
                if (stream.Aborted || result.IsCanceled) return;
                if (kind == BodyKind.ContentLength)
                {
                    if (!buffer.IsEmpty)
                    {
                        var data = buffer.Slice(0, Math.Min(buffer.Length, remaining));
                        var (sent, taken) = await SendDataAsync(stream, data, endStream: data.Length == remaining);
                        if (sent != Sent.Ok) return;
                        remaining -= taken;
                        reader.AdvanceTo(buffer.GetPosition(taken));
                        if (remaining == 0)
                        {
                            ended = true;
                            return;
                        }
                        continue;
                    }
                }
                else if (kind == BodyKind.Chunked)
                {
                    // Data runs go out as DATA; framing (sizes, CRLFs, the last chunk) is consumed; trailer lines are kept.
                    var (sent, taken, done) = await SendChunkedAsync(stream, buffer);
                    if (sent != Sent.Ok) return;
                    reader.AdvanceTo(buffer.GetPosition(taken), buffer.End);
                    if (done)
                    {
                        if (await EndChunkedAsync(stream) != Sent.Ok) return;
                        ended = true;
                        return;
                    }
                    if (result.IsCompleted)
                    {
                        await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                        return;
                    }
                    continue;
                }
                else
                {
                    // Until the exchange closes.
                    if (!buffer.IsEmpty)
                    {
                        var (sent, taken) = await SendDataAsync(stream, buffer, endStream: false);
                        if (sent != Sent.Ok) return;
                        reader.AdvanceTo(buffer.GetPosition(taken));
                        continue;
                    }
                    if (result.IsCompleted)
                    {
                        if (await SendDataAsync(stream, ReadOnlySequence<byte>.Empty, endStream: true) is not (Sent.Ok, _)) return;
                        ended = true;
                        return;
                    }
                }
                if (result.IsCompleted)
                {
                    // Cut short (the upstream failed mid-body): the client must see an incomplete response, not a short one.
                    await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                    return;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            ReturnScratch(ref scratch, ref scratchLength);
            ReturnScratch(ref stream.HeldHeadBytes, ref stream.HeldHeadLength);
            // Only this pump used the head (a held one is the same object, sent from here): back to the pool.
            stream.HeldHead = null;
            s_responseHeads.Return(head);
            try { await reader.CompleteAsync(); } catch { /* completed */ }
            FinishStream(stream, ended);
            Interlocked.Decrement(ref _runningPumps);
            stream.Release();
        }
    }

    /// <summary>
    /// A pump wrote frames (caller holds the write lock): they go out with the connection's next flush, shared by
    /// every stream that writes before it runs, instead of one send per frame. Responses of many streams become
    /// ready in one turn of the event loop (one upstream read each, their pumps queued one after another on the
    /// thread pool); the flush is queued behind them, so their HEADERS and DATA leave in one gathered send. Past
    /// <see cref="CoalesceLimit"/> unsent octets the writer flushes itself and waits.
    /// </summary>
    private ValueTask<Sent> AfterWrite()
    {
        if (_closing) return new ValueTask<Sent>(Sent.Stopped);
        if (!_output.CanGetUnflushedBytes || _output.UnflushedBytes >= CoalesceLimit) return FlushNowAsync();
        if (!_flushScheduled)
        {
            _flushScheduled = true;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
        return new ValueTask<Sent>(Sent.Ok);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> FlushNowAsync() => Observe(await _output.FlushAsync());

    /// <summary>A flush that found the client gone (or was cancelled by the shutdown): no stream writes any more.</summary>
    private Sent Observe(in FlushResult result)
    {
        if (!result.IsCompleted && !result.IsCanceled) return Sent.Ok;
        _closing = true;
        return Sent.Stopped;
    }

    /// <summary>The shared flush (see <see cref="AfterWrite"/>): under the write lock, so no frame is cut in half.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        var wait = _writeLock.EnterAsync();
        if (wait.IsCompleted)
        {
            wait.GetAwaiter().GetResult();
            FlushScheduled();
        }
        else
        {
            // The write lock was busy (a pump waits for a full socket, say): the flush runs when it is ours. One
            // shared flush is scheduled at a time (_flushScheduled), so one field holds its wait.
            _flushWait = wait;
            wait.GetAwaiter().UnsafeOnCompleted(_flushAfterWait ??= FlushAfterWait);
        }
    }

    private ValueTask _flushWait;

    /// <summary>Made once per connection.</summary>
    private Action? _flushAfterWait;

    private void FlushAfterWait()
    {
        var wait = _flushWait;
        _flushWait = default;
        wait.GetAwaiter().GetResult();
        FlushScheduled();
    }

    /// <summary>Caller holds the write lock; it is released when the flush is over.</summary>
    private void FlushScheduled()
    {
        _flushScheduled = false;
        ValueTask<FlushResult> flush;
        try
        {
            if (_closing)
            {
                _writeLock.Exit();
                return;
            }
            flush = _output.FlushAsync();
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            _closing = true;
            _writeLock.Exit();
            return;
        }
        if (!flush.IsCompleted)
        {
            _ = CompleteScheduledFlushAsync(flush);
            return;
        }
        try
        {
            Observe(flush.Result);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            _closing = true;
        }
        _writeLock.Exit();
    }

    /// <summary>The socket was full: the lock is held until it has taken everything (writers wait behind it).</summary>
    private async Task CompleteScheduledFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            Observe(await flush);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            _closing = true;
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    private static void ReturnScratch(ref byte[]? scratch, ref int length)
    {
        if (scratch is null) return;
        ArrayPool<byte>.Shared.Return(scratch);
        scratch = null;
        length = 0;
    }

    /// <summary>The response is over (or failed): the stream leaves the table; a request still arriving is stopped (§8.1).</summary>
    private void FinishStream(Http2Stream stream, bool ended)
    {
        bool reset = false;
        lock (_sync)
        {
            if (stream.Aborted) return;
            stream.Aborted = true;
            // §8.1: a response complete before its request may be followed by RST_STREAM NO_ERROR. The state says
            // whether the client's END_STREAM has come (the read loop marks the request ended only after that).
            reset = ended && stream.State.CanReceiveData;
            if (reset) stream.State.OnSend(Http2FrameType.RstStream, endStream: false);
            RemoveLocked(stream);
            lock (stream.Gate)
            {
                if (!stream.WriterCompleted)
                {
                    stream.WriterCompleted = true;
                    stream.Request?.Writer.Complete();
                }
            }
        }
        if (reset) _ = SendRstAsync(stream.Id, Http2ErrorCode.NoError);
    }

    private async Task ResetFromPumpAsync(Http2Stream stream, Http2ErrorCode code)
    {
        lock (_sync)
        {
            if (stream.Aborted) return;
            stream.Aborted = true;
            stream.State.OnSend(Http2FrameType.RstStream, endStream: false);
            RemoveLocked(stream);
        }
        stream.CancelExchange();
        await SendRstAsync(stream.Id, code);
    }

    private async Task SendRstAsync(int id, Http2ErrorCode code)
    {
        await _writeLock.EnterAsync();
        try
        {
            if (_closing) return;
            Http2FrameWriter.WriteRstStream(_output, id, code);
            await _output.FlushAsync();
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>HEADERS (+ CONTINUATION) for the response head: :status and the fields, under the write lock (HPACK order).</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> SendHeadersAsync(Http2Stream stream, ResponseHead head, ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength,
        bool endStream)
    {
        await _writeLock.EnterAsync();
        try
        {
            if (_closing || stream.Aborted) return Sent.Stopped;
            if (!WriteHeaders(stream, head, buffer, scratch, scratchLength, endStream))
            {
                // Cannot happen with the block sized as it is; if it did, HPACK state moved on: the connection is lost.
                _closing = true;
                return Sent.Stopped;
            }
            lock (_sync) stream.State.OnSend(Http2FrameType.Headers, endStream);
            if (endStream) FinishStream(stream, ended: true);
            return await AfterWrite();
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>Encodes and writes the response head's HEADERS frames (caller holds the write lock).</summary>
    private bool WriteHeaders(Http2Stream stream, ResponseHead head, in ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength, bool endStream)
        => WriteHeaders(stream, head, scratch is not null ? scratch.AsSpan(0, scratchLength) : buffer.FirstSpan, endStream);

    /// <summary>
    /// The same, from the head's contiguous bytes. <paramref name="policies"/> (the direct answer only; the pump's
    /// HTTP/1.1 bytes have the edits in them already): the gateway's response edits, fields dropped and lines added;
    /// <paramref name="hsts"/> likewise: the listener's Strict-Transport-Security line, replacing the server's.
    /// </summary>
    private bool WriteHeaders(Http2Stream stream, ResponseHead head, ReadOnlySpan<byte> bytes, bool endStream, PolicyContext? policies = null,
        RequestTrace? trace = null, byte[]? hsts = null)
    {
        ApplyPendingTableSize();

        var lines = policies is null ? default : policies.ResponseLines;
        bool removals = policies is { HasResponseRemovals: true };
        // A literal costs at most a few octets more than the field's own bytes (Huffman is used only when shorter). A
        // policy line of L >= 5 bytes ("a: \r\n") becomes a literal of at most L + 3 (one type octet and two length
        // prefixes of up to 3 octets each, less its ": " and CRLF): 2L covers it.
        var block = ArrayPool<byte>.Shared.Rent(head.HeadLength + 64 + 16 * head.FieldCount + DateHeader.LineLength + 2 * lines.Length
            + (trace is null ? 0 : RequestTrace.MaxRequestIdLineLength + 8) + (hsts is null ? 0 : 2 * hsts.Length));
        try
        {
            Span<byte> name = stackalloc byte[256];
            int written = 0;
            if (!_encoder.BeginBlock(block, ref written)) return false;
            Span<byte> status = stackalloc byte[3];
            int code = head.StatusCode;
            status[0] = (byte)('0' + code / 100);
            status[1] = (byte)('0' + code / 10 % 10);
            status[2] = (byte)('0' + code % 10);
            if (!_encoder.TryEncode(":status"u8, status, HPackIndexing.Incremental, block, ref written)) return false;
            bool dated = false, identified = false;
            foreach (ref readonly var field in head.Fields)
            {
                // §8.2.2: connection-specific fields do not exist in HTTP/2.
                if (field.HopByHop || field.Known is KnownHeader.Connection or KnownHeader.KeepAlive or KnownHeader.TransferEncoding
                    or KnownHeader.Upgrade or KnownHeader.Proxy or KnownHeader.TE) continue;
                var raw = field.Name(bytes);
                if (removals && policies!.IsResponseHeaderRemoved(raw)) continue;
                if (hsts is not null && HstsField.Is(raw)) continue;
                dated |= field.Known == KnownHeader.Date;
                identified |= field.Known == KnownHeader.RequestId;
                // HTTP/2 field names are lowercase (§8.2.1). A name over 256 octets is not worth a buffer: dropped.
                if (raw.Length > name.Length || System.Text.Ascii.ToLower(raw, name, out int n) != OperationStatus.Done) continue;
                // Values that change with every response or every second (lengths, dates, request ids) would only churn the
                // client's table.
                var indexing = field.Known is KnownHeader.ContentLength or KnownHeader.Date or KnownHeader.RequestId or KnownHeader.TraceParent
                    ? HPackIndexing.Without : HPackIndexing.Incremental;
                if (!_encoder.TryEncode(name[..n], field.Value(bytes), indexing, block, ref written)) return false;
            }
            // A server's response without Date gets the proxy's (RFC 9110 §6.6.1), as over HTTP/1.1 (ResponseHeadWriter;
            // the proxy's own answers have theirs already). Not indexed, like a server's Date above (and as nginx does).
            if (!dated && code >= 200 && !_encoder.TryEncode("date"u8, DateHeader.Value, HPackIndexing.Without, block, ref written)) return false;
            // [listeners.hsts]: the same on every response, so indexed (one octet after the first).
            if (hsts is not null && !_encoder.TryEncode("strict-transport-security"u8, HstsField.Value(hsts), HPackIndexing.Incremental, block, ref written)) return false;
            // The request's id, as over HTTP/1.1 (ResponseHeadWriter); never indexed: it changes with every response.
            if (trace is not null && !identified)
            {
                Span<byte> id = stackalloc byte[RequestIds.MaxLength];
                if (!_encoder.TryEncode("x-request-id"u8, id[..trace.WriteRequestId(id)], HPackIndexing.Without, block, ref written)) return false;
            }
            // The lines gateway policies add, after the server's own as over HTTP/1.1: "name: value\r\n" each, as
            // PolicyContext records them (checked there: a token-like name, a value without CR, LF or NUL).
            while (!lines.IsEmpty)
            {
                int end = lines.IndexOf("\r\n"u8);
                var line = lines[..end];
                lines = lines[(end + 2)..];
                int colon = line.IndexOf((byte)':');
                var raw = line[..colon];
                if (raw.Length > name.Length || System.Text.Ascii.ToLower(raw, name, out int n) != OperationStatus.Done) continue;
                if (!_encoder.TryEncode(name[..n], line[(colon + 1)..].TrimStart((byte)' '), HPackIndexing.Incremental, block, ref written)) return false;
            }
            Http2FrameWriter.WriteFieldBlock(_output, stream.Id, block.AsSpan(0, written), endStream, _peerMaxFrameSize);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    /// <summary>
    /// Sends up to all of <paramref name="data"/> as DATA frames, each as large as the client's windows and frame
    /// size allow, waiting for WINDOW_UPDATE when they are shut. Returns how much went out (all of it unless stopped).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(Sent, long)> SendDataAsync(Http2Stream stream, ReadOnlySequence<byte> data, bool endStream)
    {
        long sent = 0;
        do
        {
            long left = data.Length - sent;
            int granted = 0;
            if (left > 0)
            {
                granted = await ReserveAsync(stream, (int)Math.Min(left, _peerMaxFrameSize));
                if (granted == 0) return (Sent.Stopped, sent);
            }
            bool last = endStream && sent + granted == data.Length;
            await _writeLock.EnterAsync();
            try
            {
                if (_closing || stream.Aborted) return (Sent.Stopped, sent);
                Http2FrameWriter.WriteData(_output, stream.Id, data.Slice(sent, granted), last);
                lock (_sync) stream.State.OnSend(Http2FrameType.Data, last);
                // The stream stops counting against MAX_CONCURRENT_STREAMS before the client can see it end.
                if (last) FinishStream(stream, ended: true);
                if (await AfterWrite() != Sent.Ok) return (Sent.Stopped, sent);
            }
            finally
            {
                _writeLock.Exit();
            }
            sent += granted;
        }
        while (sent < data.Length);
        return (Sent.Ok, sent);
    }

    /// <summary>Takes up to <paramref name="wanted"/> octets of both send windows; 0 when the stream stopped or the client let them stay shut too long.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReserveAsync(Http2Stream stream, int wanted)
    {
        while (true)
        {
            lock (_sync)
            {
                if (stream.Aborted || _closing) return 0;
                long available = Math.Min(stream.SendWindow.Available, _windows.Send.Available);
                if (available > 0)
                {
                    int granted = stream.SendWindow.Take((int)Math.Min(available, wanted));
                    _windows.Send.Take(granted);
                    return granted;
                }
                // Made under the lock, the first time this stream waits (most never do): WakeLocked sees the same one.
                stream.WindowSignal ??= new SemaphoreSlim(0);
                stream.WaitingForWindow = true;
            }
            // A client that never opens its window again does not hold the stream (and its upstream connection) forever.
            long timeoutMs = Runtime.IdleTimeoutMs;
            if (!await stream.WindowSignal!.WaitAsync(timeoutMs > 0 ? TimeSpan.FromMilliseconds(timeoutMs) : Timeout.InfiniteTimeSpan))
            {
                await ResetFromPumpAsync(stream, Http2ErrorCode.FlowControlError);
                return 0;
            }
        }
    }

    private void ApplyPendingTableSize()
    {
        long pendingTable = Interlocked.Exchange(ref _pendingPeerTableSize, -1);
        if (pendingTable >= 0) _encoder.SetPeerMaxTableSize((uint)pendingTable);
    }

    private static bool HoldsGrpcStatus(ResponseHead head, in ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength)
    {
        ReadOnlySpan<byte> bytes = scratch is not null ? scratch.AsSpan(0, scratchLength) : buffer.FirstSpan;
        foreach (ref readonly var field in head.Fields)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(field.Name(bytes), "grpc-status"u8)) return true;
        }
        return false;
    }

    /// <summary>Keeps a copy of the head's bytes on the stream (the pipe moves on) to send later.</summary>
    private static void HoldHead(Http2Stream stream, ResponseHead head, in ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength)
    {
        var copy = ArrayPool<byte>.Shared.Rent(head.HeadLength);
        if (scratch is not null) scratch.AsSpan(0, head.HeadLength).CopyTo(copy);
        else buffer.Slice(0, head.HeadLength).CopyTo(copy);
        stream.HeldHead = head;
        stream.HeldHeadBytes = copy;
        stream.HeldHeadLength = head.HeadLength;
    }

    /// <summary>Sends a held head (see <see cref="HoldHead"/>) now: data follows it, or it ends the response.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> SendHeldHeadAsync(Http2Stream stream, bool endStream)
    {
        var head = stream.HeldHead!;
        stream.HeldHead = null;
        var sent = await SendHeadersAsync(stream, head, ReadOnlySequence<byte>.Empty, stream.HeldHeadBytes, stream.HeldHeadLength, endStream);
        ReturnScratch(ref stream.HeldHeadBytes, ref stream.HeldHeadLength);
        return sent;
    }

    /// <summary>
    /// The chunked body ended: the trailers as a last HEADERS with END_STREAM (§8.1: after all DATA), or an empty
    /// DATA with END_STREAM when there are none (or none that HTTP/2 may carry); a held head goes first, with
    /// END_STREAM itself when nothing follows it (gRPC's Trailers-Only).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> EndChunkedAsync(Http2Stream stream)
    {
        bool trailers = stream.ResponseTrailers is { WrittenCount: > 0 } lines && AnyForwardedTrailer(lines.WrittenSpan);
        if (stream.HeldHead is not null)
        {
            var sent = await SendHeldHeadAsync(stream, endStream: !trailers);
            if (sent != Sent.Ok || !trailers) return sent;
        }
        if (trailers) return await SendTrailersAsync(stream);
        var (done, _) = await SendDataAsync(stream, ReadOnlySequence<byte>.Empty, endStream: true);
        return done;
    }

    private static bool AnyForwardedTrailer(ReadOnlySpan<byte> lines)
    {
        Span<byte> name = stackalloc byte[TrailerRules.MaxNameLength];
        var fields = new TrailerFields(lines);
        while (fields.TryRead(out var raw, out _))
        {
            if (TrailerRules.TryLower(raw, name, out int n) && TrailerRules.Forwards(name[..n])) return true;
        }
        return false;
    }

    /// <summary>The trailers' HEADERS (+ CONTINUATION) with END_STREAM, under the write lock (HPACK order).</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> SendTrailersAsync(Http2Stream stream)
    {
        await _writeLock.EnterAsync();
        try
        {
            if (_closing || stream.Aborted) return Sent.Stopped;
            if (!WriteTrailers(stream, stream.ResponseTrailers!.WrittenSpan))
            {
                // As in SendHeadersAsync: the block is sized so this cannot happen; HPACK state would be lost.
                _closing = true;
                return Sent.Stopped;
            }
            lock (_sync) stream.State.OnSend(Http2FrameType.Headers, endStream: true);
            FinishStream(stream, ended: true);
            return await AfterWrite();
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>
    /// Encodes the trailer fields HTTP/2 may carry (<see cref="TrailerRules"/>; names lowercased, §8.2.1) as a
    /// HEADERS block with END_STREAM (caller holds the write lock).
    /// </summary>
    private bool WriteTrailers(Http2Stream stream, ReadOnlySpan<byte> lines)
    {
        ApplyPendingTableSize();
        var block = ArrayPool<byte>.Shared.Rent(TrailerRules.BlockLength(lines));
        try
        {
            int written = 0;
            if (!_encoder.BeginBlock(block, ref written)) return false;
            if (!TrailerRules.TryEncode(_encoder, lines, block, ref written, out _)) return false;
            Http2FrameWriter.WriteFieldBlock(_output, stream.Id, block.AsSpan(0, written), endStream: true, _peerMaxFrameSize);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private static ChunkedStep NextChunkStep(Http2Stream stream, in ReadOnlySequence<byte> rest, out int consumed)
        => stream.Chunks.Next(rest.FirstSpan, out consumed);

    /// <summary>
    /// Runs the chunked decoder over <paramref name="buffer"/>, sending data runs as DATA within the windows.
    /// Returns what was consumed and whether the last chunk (and trailers) ended the body.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(Sent, long, bool)> SendChunkedAsync(Http2Stream stream, ReadOnlySequence<byte> buffer)
    {
        long consumedTotal = 0;
        while (consumedTotal < buffer.Length)
        {
            var rest = buffer.Slice(consumedTotal);
            var step = NextChunkStep(stream, rest, out int consumed);
            if (step == ChunkedStep.Error)
            {
                await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                return (Sent.Stopped, consumedTotal, false);
            }
            if (step == ChunkedStep.Data && consumed > 0)
            {
                if (stream.HeldHead is not null && await SendHeldHeadAsync(stream, endStream: false) != Sent.Ok) return (Sent.Stopped, consumedTotal, false);
                var (sent, taken) = await SendDataAsync(stream, rest.Slice(0, consumed), endStream: false);
                if (sent != Sent.Ok) return (Sent.Stopped, consumedTotal, false);
            }
            else if (step == ChunkedStep.Trailer)
            {
                // Bounded by the decoder's trailer limits (ResponseLimits: 64 KiB, 256 fields).
                stream.ResponseTrailers ??= new ArrayBufferWriter<byte>(256);
                stream.ResponseTrailers.Write(rest.FirstSpan[..consumed]);
            }
            consumedTotal += consumed;
            if (step == ChunkedStep.Done) return (Sent.Ok, consumedTotal, true);
            if (consumed == 0) break;
        }
        return (Sent.Ok, consumedTotal, false);
    }
}
