using FastProxy.Async;
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>
    /// A small request body is read whole before anything is sent upstream, so that a malformed body is refused
    /// with nothing forwarded and an idempotent request can be retried. A larger one is streamed from this point:
    /// memory stays flat whatever its size. Kept below the pipe's pause threshold (128 KiB), where reads would stop anyway.
    /// </summary>
    private const int BodyBufferLimit = 64 * 1024;

    private enum Intake : byte
    {
        Ready = 0,
        /// <summary>More of the head is needed: read again.</summary>
        Pending,
        /// <summary>The head is complete and a body follows that has to be read (see <see cref="ReadBodyAsync"/>).</summary>
        NeedsBody,
        /// <summary>The request must be refused: <see cref="RejectAsync"/> answers it with the recorded status.</summary>
        Reject,
        /// <summary>The client closed, timed out while idle, or the proxy is draining: close quietly.</summary>
        Closed,
        /// <summary>An error response was sent; the connection must close.</summary>
        Rejected,
    }

    /// <summary>The last buffer read from the client: the head, and any body bytes that came with it.</summary>
    private ReadOnlySequence<byte> _requestBuffer;
    private byte[]? _requestScratch;
    private int _requestScratchLength;

    // The request body as read so far (see BodyBufferLimit).
    private ChunkedDecoder _requestDecoder;
    /// <summary>Body bytes after the head that are validated and may be forwarded (all of it when <see cref="_bodyComplete"/>).</summary>
    private long _bodyAvailable;
    private bool _bodyComplete;

    /// <summary>The request head's bytes: the receive buffer itself, or a copy when the head straddled segments.</summary>
    private ReadOnlySpan<byte> RequestHeadBytes => _requestScratch is not null
        ? _requestScratch.AsSpan(0, _requestScratchLength)
        : _requestBuffer.FirstSpan;

    /// <summary>Why a request is being refused, until <see cref="RejectAsync"/> answers it.</summary>
    private int _rejectStatus;
    private HeadError _rejectReason;

    /// <summary>Starts waiting for a request on this connection: idle, under idle_timeout, nothing read yet.</summary>
    private void BeginRequest(ListenerRuntime runtime)
    {
        ParkHeads();
        _trace.Clear();
        _bodyAvailable = 0;
        _bodyComplete = false;
        _errorPages = null;
        _listenerLines = runtime.HstsLine;
        _idle = true;
        _clientDeadline.Arm(_input, runtime.IdleTimeoutMs);
    }

    /// <summary>
    /// One read's worth of request head: parses what has arrived (resuming where the last read stopped) without
    /// consuming it. Synchronous, so that the read loop lives in <see cref="RunAsync"/> and a waiting connection
    /// holds one suspended method, not two. <see cref="Intake.Pending"/>: read again (the buffer was examined).
    /// </summary>
    private Intake OnRequestHeadData(in ReadResult result, ListenerRuntime runtime, ref bool started)
    {
        var buffer = result.Buffer;
        _requestBuffer = buffer;
        if (result.IsCanceled)
        {
            if (_drainClose && !started) return Intake.Closed;
            if (_clientDeadline.TimedOut)
            {
                // Idle keep-alive connections simply close; a head that started but did not finish is a 408.
                if (!started && buffer.IsEmpty) return Intake.Closed;
                return Reject(408, HeadError.None);
            }
        }

        if (!buffer.IsEmpty && !started)
        {
            started = true;
            TakeHeads();
            OpenRecord(runtime);
            _idle = false;
            // header_timeout bounds the whole head from its first byte (slowloris).
            _clientDeadline.Arm(_input, runtime.HeaderTimeoutMs);
        }

        var status = buffer.IsEmpty
            ? ParseStatus.NeedMore
            : RequestParser.Parse(GetContiguous(buffer, ref _requestScratch, ref _requestScratchLength, runtime.MaxHeadBytes), _request, runtime.HeadLimits);

        if (status == ParseStatus.Complete) return AfterHead(runtime);
        if (status == ParseStatus.Error) return Reject(HeadErrors.StatusCode(_request.Error), _request.Error);
        if (result.IsCompleted)
        {
            _input.AdvanceTo(buffer.End);
            return Intake.Closed;
        }
        _input.AdvanceTo(buffer.Start, buffer.End);
        return Intake.Pending;
    }

    /// <summary>The head is complete: refuse what cannot be forwarded before a byte goes anywhere.</summary>
    private Intake AfterHead(ListenerRuntime runtime)
    {
        // The listener's error pages shape refusals from here on (a route's chain may name its own later).
        if (runtime.ListenerPolicies?.ErrorPages is { } pages) SelectErrorPages(pages);
        // Routes match, and the upstream receives, the path in normal form (see PathNormalizer).
        if (PathNormalizer.IsNeeded(_request.Path(RequestHeadBytes)) && !NormalizePath()) return Reject(400, HeadError.InvalidTarget);
        if (runtime.MaxBody > 0 && _request.ContentLength > runtime.MaxBody) return Reject(413, HeadError.None);
        if (!_request.HasBody)
        {
            _bodyComplete = true;
            _clientDeadline.Disarm();
            return Intake.Ready;
        }
        if (_request.IsChunked)
        {
            // Trailers count against the same budgets as header fields.
            _requestDecoder = new ChunkedDecoder(runtime.MaxBody, runtime.HeadLimits.MaxHeaderBytes, runtime.HeadLimits.MaxHeaders);
        }
        // A client that sent Expect: 100-continue waits for the upstream's go-ahead before sending its body. An HTTP/2
        // stream without content-length (converted to chunked framing by Http2Stream, so already valid) may be a
        // conversation (gRPC bidi streaming: the server answers each message before the next is sent): it goes
        // upstream at once too, not after the first 64 KiB or the end of its body.
        if (_request.ExpectContinue || (_streamMode && _request.IsChunked))
        {
            _clientDeadline.Disarm();
            return ScanBody(_requestBuffer) ? Intake.Ready : RejectBody();
        }
        return Intake.NeedsBody;
    }

    /// <summary>
    /// Normalises the request's path in a writable copy of the head (the receive buffer is the pipe's): the pooled
    /// scratch array, which <see cref="RequestHeadBytes"/> then returns. Rare: only paths with escapes or dot segments.
    /// </summary>
    private bool NormalizePath()
    {
        KeepHead();
        return PathNormalizer.Normalize(_requestScratch.AsSpan(0, _requestScratchLength), _request);
    }

    private Intake Reject(int status, HeadError reason)
    {
        _rejectStatus = status;
        _rejectReason = reason;
        return Intake.Reject;
    }

    private Intake RejectBody() => Reject(_requestDecoder.Error == ChunkedError.BodyTooLarge ? 413 : 400, HeadError.None);

    /// <summary>Reads what there is of a request body, up to <see cref="BodyBufferLimit"/>, without consuming it from the pipe.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Intake> ReadBodyAsync(ListenerRuntime runtime)
    {
        _clientDeadline.Arm(_input, runtime.IdleTimeoutMs);
        while (true)
        {
            if (!ScanBody(_requestBuffer)) return RejectBody();
            if (_bodyComplete || _requestBuffer.Length >= BodyBufferLimit) break;

            _input.AdvanceTo(_requestBuffer.Start, _requestBuffer.End);
            var result = await _input.ReadAsync();
            _requestBuffer = result.Buffer;
            if (result.IsCanceled && _clientDeadline.TimedOut) return Reject(408, HeadError.None);
            if (result.IsCompleted && !ScanBody(_requestBuffer)) return RejectBody();
            if (result.IsCompleted && !_bodyComplete)
            {
                // The client went away in the middle of its body: there is nothing to forward and nobody to answer.
                _input.AdvanceTo(_requestBuffer.End);
                return Intake.Closed;
            }
        }
        _clientDeadline.Disarm();
        return Intake.Ready;
    }

    /// <summary>
    /// Advances <see cref="_bodyAvailable"/> over the body bytes in <paramref name="buffer"/>; for chunked bodies
    /// each byte is validated once, as it arrives. False: the body is malformed or over max_body.
    /// </summary>
    private bool ScanBody(in ReadOnlySequence<byte> buffer)
    {
        long inBuffer = buffer.Length - _request.HeadLength;
        if (!_request.IsChunked)
        {
            _bodyAvailable = Math.Min(inBuffer, _request.ContentLength);
            _bodyComplete = _bodyAvailable == _request.ContentLength;
            return true;
        }
        if (_bodyAvailable >= inBuffer || _bodyComplete) return true;
        var unscanned = buffer.Slice(_request.HeadLength + _bodyAvailable);
        foreach (var segment in unscanned)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var step = _requestDecoder.Next(span, out int consumed);
                _bodyAvailable += consumed;
                span = span[consumed..];
                if (step == ChunkedStep.Error) return false;
                if (step == ChunkedStep.Done)
                {
                    _bodyComplete = true;
                    return true;
                }
            }
        }
        return true;
    }

    /// <summary>Answers a request the proxy refuses and marks the connection for closing: its framing can no longer be trusted.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Intake> RejectAsync(int status, HeadError reason, ListenerRuntime runtime)
    {
        _clientDeadline.Disarm();
        Log.RequestRejected(runtime.Name, status, reason);
        if (_recording)
        {
            _record!.Method = _request.Method;
            _record.Version = _request.Version;
            RecordOwnAnswer(status, DefaultReason(status));
            _record.BytesOut = ProxyResponses.For(status).Length(ConnectionHeader.Close, headRequest: false) + ListenerLines.Length;
        }
        // Whatever is buffered is garbage now; release it before writing.
        _input.AdvanceTo(_requestBuffer.End);
        _requestBuffer = default;
        ReleaseRequestScratch();
        // error_pages: only once the head was parsed (a listener's policy was found then), else the plain answer.
        if (FindErrorPage(status) is { } page)
        {
            int written = ErrorPageWriter.WriteOwn(_output, status, page, ConnectionHeader.Close, headRequest: false, trace: null, ListenerLines);
            if (_recording) _record!.BytesOut = written;
        }
        else
        {
            ProxyResponses.For(status).WriteTo(_output, ConnectionHeader.Close, headRequest: false, listenerLines: ListenerLines);
        }
        await _output.FlushAsync();
        return Intake.Rejected;
    }

    /// <summary>
    /// The bytes of <paramref name="buffer"/> (up to <paramref name="limit"/>) as one span: the first segment itself
    /// when it holds them all (almost always), else a copy in a pooled array that grows as more bytes arrive.
    /// </summary>
    internal static ReadOnlySpan<byte> GetContiguous(in ReadOnlySequence<byte> buffer, ref byte[]? scratch, ref int scratchLength, int limit)
    {
        if (scratch is null && buffer.IsSingleSegment) return buffer.FirstSpan;
        int wanted = (int)Math.Min(buffer.Length, limit);
        if (scratch is null || scratch.Length < wanted)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(wanted, 4096));
            if (scratch is not null)
            {
                scratch.AsSpan(0, scratchLength).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(scratch);
            }
            scratch = bigger;
        }
        if (wanted > scratchLength)
        {
            buffer.Slice(scratchLength, wanted - scratchLength).CopyTo(scratch.AsSpan(scratchLength));
            scratchLength = wanted;
        }
        return scratch.AsSpan(0, scratchLength);
    }

    /// <summary>The request's pooled memory goes back: the head's copy, and a buffered body (request_buffering).</summary>
    private void ReleaseRequestScratch()
    {
        // The request is over: a cache fill it led and nothing ended goes now (its waiters must not sit out lock_timeout).
        _policyContext?.EndRequest();
        if (_bufferedBody is not null) ReleaseBufferedBody();
        if (_requestScratch is null) return;
        ArrayPool<byte>.Shared.Return(_requestScratch);
        _requestScratch = null;
        _requestScratchLength = 0;
    }

    private void ReleaseResponseScratch()
    {
        if (_responseScratch is null) return;
        ArrayPool<byte>.Shared.Return(_responseScratch);
        _responseScratch = null;
        _responseScratchLength = 0;
    }
}
