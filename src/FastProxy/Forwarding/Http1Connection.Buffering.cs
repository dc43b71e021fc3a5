using FastProxy.Async;
using System.Buffers;
using System.Runtime.CompilerServices;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>The current request's body was read whole into <see cref="_bufferedBody"/> (request_buffering).</summary>
    private bool _bodyBuffered;

    /// <summary>Made the first time this pooled connection buffers a body, and kept (empty) for the next ones.</summary>
    private BufferedRequestBody? _bufferedBody;

    /// <summary>
    /// request_buffering (nginx's proxy_request_buffering on): a chunked request body is read whole, de-chunked, into
    /// pooled memory before anything goes upstream, so that the server gets it with a Content-Length (for servers that
    /// cannot read chunked bodies). max_body bounds it (over it: 413, and nothing was sent anywhere). The trailer
    /// section is validated and dropped, as nginx does: a Content-Length body has nowhere to carry it. An HTTP/2 request
    /// without content-length arrives here chunked (see <see cref="Http2Stream"/>) and is treated the same.
    /// The body is taken from the receive pipe as it is read; the head is kept in the scratch copy.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    /// <remarks>
    /// Also reads a Content-Length body whole for a body policy (<see cref="IRequestBodyPolicy"/>), bounded by
    /// <paramref name="maxBody"/> (0: none; the caller refuses a Content-Length over it before calling).
    /// </remarks>
    private async ValueTask<Intake> BufferBodyAsync(ListenerRuntime runtime, long maxBody)
    {
        KeepHead();
        if (_request.ExpectContinue && _request.Version == HttpVersion.Http11)
        {
            // The client waits for a go-ahead before it sends the body (RFC 9110 §10.1.1). The proxy is the one that
            // reads it now, so the go-ahead is the proxy's; the Expect stops here (see RequestHeadWriter).
            _output.Write("HTTP/1.1 100 Continue\r\n\r\n"u8);
            if ((await _output.FlushAsync()).IsCompleted) return Intake.Closed;
        }
        var body = _bufferedBody ??= new BufferedRequestBody();
        // A fresh decoder from the body's first byte: what the intake validated of it is still in the pipe, unconsumed.
        bool chunked = _request.IsChunked;
        if (chunked) _requestDecoder = new ChunkedDecoder(maxBody, runtime.HeadLimits.MaxHeaderBytes, runtime.HeadLimits.MaxHeaders);
        long remaining = chunked ? 0 : _request.ContentLength;
        var buffer = _requestBuffer.Slice(_request.HeadLength);
        bool completed = false;
        _clientDeadline.Arm(_input, runtime.IdleTimeoutMs);
        try
        {
            while (true)
            {
                long consumed;
                var step = chunked ? BufferChunks(buffer, body, out consumed) : BufferLength(buffer, body, ref remaining, out consumed);
                // Errors leave the pipe as it was read: RejectAsync drops the lot (_requestBuffer is the last read).
                if (step == ChunkedStep.Error) return RejectBody();
                if (step == ChunkedStep.Done)
                {
                    // What follows the body (a pipelined request) stays in the pipe for the next turn of the loop.
                    _input.AdvanceTo(buffer.GetPosition(consumed));
                    _requestBuffer = default;
                    _bodyBuffered = true;
                    _bodyComplete = true;
                    _bodyAvailable = 0;
                    return Intake.Ready;
                }
                // Everything read so far is taken (the decoder resumes at any byte).
                _input.AdvanceTo(buffer.End);
                if (completed)
                {
                    // The client went away in the middle of its body: nothing to forward, nobody to answer.
                    _requestBuffer = default;
                    return Intake.Closed;
                }
                var result = await _input.ReadAsync();
                _requestBuffer = buffer = result.Buffer;
                if (result.IsCanceled && _clientDeadline.TimedOut) return Reject(408, HeadError.None);
                completed = result.IsCompleted;
            }
        }
        finally
        {
            _clientDeadline.Disarm();
        }
    }

    /// <summary>Runs the decoder over <paramref name="buffer"/>, appending the data to <paramref name="body"/>, up to the body's end or an error.</summary>
    private ChunkedStep BufferChunks(in ReadOnlySequence<byte> buffer, BufferedRequestBody body, out long consumed)
    {
        consumed = 0;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var step = _requestDecoder.Next(span, out int n);
                if (step == ChunkedStep.Error) return step;
                if (step == ChunkedStep.Data) body.Append(span[..n]);
                consumed += n;
                if (step == ChunkedStep.Done) return step;
                span = span[n..];
            }
        }
        return ChunkedStep.Framing;
    }

    /// <summary>Appends up to <paramref name="remaining"/> octets of a Content-Length body from <paramref name="buffer"/>.</summary>
    private static ChunkedStep BufferLength(in ReadOnlySequence<byte> buffer, BufferedRequestBody body, ref long remaining, out long consumed)
    {
        consumed = Math.Min(buffer.Length, remaining);
        foreach (var segment in buffer.Slice(0, consumed)) body.Append(segment.Span);
        remaining -= consumed;
        return remaining == 0 ? ChunkedStep.Done : ChunkedStep.Framing;
    }

    /// <summary>
    /// Makes <see cref="RequestHeadBytes"/> independent of the receive buffer (a pooled copy), so that the buffer can
    /// be consumed while the head is still needed.
    /// </summary>
    private void KeepHead()
    {
        if (_requestScratch is not null) return;
        int length = _request.HeadLength;
        _requestScratch = ArrayPool<byte>.Shared.Rent(Math.Max(length, 4096));
        _requestBuffer.Slice(0, length).CopyTo(_requestScratch);
        _requestScratchLength = length;
    }

    /// <summary>The buffered body's memory goes back to the pool (after the exchange, or when the request failed).</summary>
    private void ReleaseBufferedBody()
    {
        _bodyBuffered = false;
        if (_bufferedBody is { Length: > 0 } body) body.Release();
    }
}
