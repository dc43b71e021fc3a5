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
    /// <remarks>
    /// Also reads a Content-Length body whole for a body policy (<see cref="IRequestBodyPolicy"/>), bounded by
    /// <paramref name="maxBody"/> (0: none; the caller refuses a Content-Length over it before calling).
    /// </remarks>
    private ValueTask<Intake> BufferBodyAsync(ListenerRuntime runtime, long maxBody)
    {
        KeepHead();
        return ReadRequestBodyAsync(runtime, maxBody, new AppendBody(_bufferedBody ??= new BufferedRequestBody()));
    }

    /// <summary>
    /// What a request body read whole does with it, one struct per use: <see cref="AppendBody"/> (as it came), the
    /// gRPC-Web text body's base64 decoding (.GrpcWeb). The loop is <see cref="ReadRequestBodyAsync{TSink}"/>'s.
    /// </summary>
    private interface IRequestBodySink : IChunkSink
    {
        /// <summary>A piece of a Content-Length body.</summary>
        void OnContent(in ReadOnlySequence<byte> bytes);

        /// <summary>Asked after each piece: the body is invalid (400).</summary>
        bool Failed { get; }

        /// <summary>Asked at the body's end: false, it ended where it cannot (400).</summary>
        bool CanEnd { get; }
    }

    /// <summary>The body's data appended as it came (de-chunked; the trailer section dropped).</summary>
    private readonly struct AppendBody(BufferedRequestBody body) : IRequestBodySink
    {
        public bool Failed => false;
        public bool CanEnd => true;

        public void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes)
        {
            if (step == ChunkedStep.Data) body.Append(bytes);
        }

        public void OnContent(in ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes) body.Append(segment.Span);
        }
    }

    /// <summary>
    /// Reads the request body whole (Content-Length or chunked, the chunked one within <paramref name="maxBody"/>; 0:
    /// no bound) from the client, handing it to <paramref name="sink"/>, before anything goes upstream. The caller
    /// kept the head (<see cref="KeepHead"/>). Ready: the body is in <see cref="_bufferedBody"/>; Reject: 400, 408 or
    /// 413 (<see cref="_rejectStatus"/>); Closed: the client went away in the middle of it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Intake> ReadRequestBodyAsync<TSink>(ListenerRuntime runtime, long maxBody, TSink sink) where TSink : struct, IRequestBodySink
    {
        if (_request.ExpectContinue && _request.Version == HttpVersion.Http11)
        {
            // The client waits for a go-ahead before it sends the body (RFC 9110 §10.1.1). The proxy is the one that
            // reads it now, so the go-ahead is the proxy's; the Expect stops here (see RequestHeadWriter).
            _output.Write("HTTP/1.1 100 Continue\r\n\r\n"u8);
            if ((await _output.FlushAsync()).IsCompleted) return Intake.Closed;
        }
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
                ChunkedStep step;
                if (chunked)
                {
                    step = _requestDecoder.Decode(buffer, ref sink, out consumed);
                }
                else
                {
                    consumed = Math.Min(buffer.Length, remaining);
                    sink.OnContent(buffer.Slice(0, consumed));
                    remaining -= consumed;
                    step = remaining == 0 ? ChunkedStep.Done : ChunkedStep.Framing;
                }
                // Errors leave the pipe as it was read: RejectAsync drops the lot (_requestBuffer is the last read).
                if (step == ChunkedStep.Error) return RejectBody();
                if (sink.Failed) return Reject(400, HeadError.None);
                if (step == ChunkedStep.Done)
                {
                    if (!sink.CanEnd) return Reject(400, HeadError.None);
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
