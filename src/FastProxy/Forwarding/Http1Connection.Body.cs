using FastProxy.Async;
using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    private enum BodyCopy : byte
    {
        Complete = 0,
        /// <summary>The source ended (closed or reset) before the body did.</summary>
        Truncated,
        /// <summary>The source's framing was malformed (bad chunk), or the body went over max_body.</summary>
        Invalid,
        TimedOut,
        /// <summary>The destination went away.</summary>
        DestinationClosed,
        /// <summary>Stopped by the other side of the exchange.</summary>
        Aborted,
    }

    private volatile bool _pumpAborted;

    /// <summary>How the request body pump failed on the client's side (<see cref="BodyCopy.Complete"/>: it has not).</summary>
    private volatile BodyCopy _pumpFailure;

    /// <summary>
    /// Streams the rest of a request body from the client to the upstream, with back-pressure both ways: a slow
    /// upstream stops our reads from the client, so memory stays within the pipes' thresholds however large the body.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyCopy> PumpRequestBodyAsync(UpstreamConnection connection, ListenerRuntime runtime)
    {
        BodyCopy outcome;
        try
        {
            outcome = await CopyRequestBodyAsync(connection, runtime);
        }
        catch (Exception) when (!_pumpAborted)
        {
            // The client's socket failed (reset): the body ends here as surely as with a close.
            outcome = BodyCopy.Truncated;
        }
        if (outcome is BodyCopy.Truncated or BodyCopy.Invalid or BodyCopy.TimedOut)
        {
            // The rest of the request will never come, so no answer to it will either: stop waiting for one.
            _pumpFailure = outcome;
            connection.Input.CancelPendingRead();
        }
        return outcome;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyCopy> CopyRequestBodyAsync(UpstreamConnection connection, ListenerRuntime runtime)
    {
        var output = connection.Output;
        long remaining = _request.IsChunked ? long.MaxValue : _request.ContentLength - _bodyAvailable;
        try
        {
            while (remaining > 0)
            {
                _clientDeadline.Arm(_input, runtime.IdleTimeoutMs);
                var result = await _input.ReadAsync();
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    _input.AdvanceTo(buffer.Start);
                    if (_pumpAborted) return BodyCopy.Aborted;
                    if (_clientDeadline.TimedOut) return BodyCopy.TimedOut;
                    continue;
                }

                long take;
                bool done = false;
                if (_request.IsChunked)
                {
                    // Validated on the way (forwarded as it came, framing and all).
                    var validate = default(ValidateChunks);
                    var step = _requestDecoder.Decode(buffer, ref validate, out take);
                    if (step == ChunkedStep.Error)
                    {
                        _input.AdvanceTo(buffer.Start);
                        return BodyCopy.Invalid;
                    }
                    done = step == ChunkedStep.Done;
                }
                else
                {
                    take = Math.Min(buffer.Length, remaining);
                    remaining -= take;
                    done = remaining == 0;
                }

                var slice = buffer.Slice(0, take);
                WriteSequence(output, slice);
                _input.AdvanceTo(slice.End);
                var flush = await output.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled) return BodyCopy.DestinationClosed;
                Volatile.Write(ref _requestProgressMs, Transport.Heartbeat.NowMs);
                if (done)
                {
                    _bodyComplete = true;
                    return BodyCopy.Complete;
                }
                if (result.IsCompleted) return BodyCopy.Truncated;
            }
            _bodyComplete = true;
            return BodyCopy.Complete;
        }
        finally
        {
            _clientDeadline.Disarm();
        }
    }

    /// <summary>Stops a request body pump that is still running, and waits for it to let go of the pipes.</summary>
    private async ValueTask AbortPumpAsync(UpstreamConnection connection, ValueTask<BodyCopy> pump)
    {
        _pumpAborted = true;
        _input.CancelPendingRead();
        // Closing the socket completes a flush the pump may be blocked in (the upstream stopped reading).
        connection.Abort();
        try { await pump; } catch { /* it failed on the closed socket, as intended */ }
    }

    /// <summary>
    /// What a response body copy does with the body, one struct per use: <see cref="PlainBody"/> (to the client as it
    /// came), the streaming stages (.Stages), gRPC-Web's re-framing (.GrpcWeb), a body policy's read-whole
    /// (.ResponseBody). The loop around it (reads, read_timeout, flushes, the framing) is
    /// <see cref="CopyResponseBodyAsync{TSink}"/>'s, the same for all; each use is a specialised copy of it, with the
    /// sink's calls inlined and its constant properties folded away.
    /// </summary>
    private interface IResponseBodySink : IChunkSink
    {
        /// <summary>
        /// The body goes to the client as it is read: the client is flushed before each wait on the upstream, when a
        /// large block is pending and when the body is cut short. False: it is only read (nothing was sent yet).
        /// </summary>
        bool Streams { get; }

        /// <summary>The bytes taken from the upstream count as sent to the client (false: the sink counts what it writes).</summary>
        bool CountsTaken { get; }

        /// <summary>A piece of a Content-Length or read-to-close body.</summary>
        void OnContent(in ReadOnlySequence<byte> bytes);

        /// <summary>The upstream has nothing more for now: the client is about to be flushed (streaming sinks only).</summary>
        void OnIdle();

        /// <summary>Asked after each read is taken: true stops the copy with <see cref="BodyCopy.Aborted"/>.</summary>
        bool Full { get; }

        /// <summary>The body is complete (what the sink writes now is flushed by the caller, after the upstream connection is released).</summary>
        void OnEnd();

        /// <summary>The copy is over, whatever the outcome (an exception included); <paramref name="completed"/>: after <see cref="OnEnd"/>.</summary>
        void OnExit(bool completed);
    }

    /// <summary>The usual copy: the body to the client as it came (only the data of a chunked one, for an HTTP/1.0 client).</summary>
    private readonly struct PlainBody(Http1Connection owner, bool dechunk) : IResponseBodySink
    {
        public bool Streams => true;
        public bool CountsTaken => true;
        public bool Full => false;
        public void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes)
        {
            if (!dechunk || step == ChunkedStep.Data) owner._output.Write(bytes);
        }
        public void OnContent(in ReadOnlySequence<byte> bytes) => WriteSequence(owner._output, bytes);
        public void OnIdle() { }
        public void OnEnd() { }
        public void OnExit(bool completed) { }
    }

    /// <summary>
    /// Reads the response body from the upstream, delimited as the response head says (Content-Length, chunked through
    /// <see cref="_responseDecoder"/>, or to the close), and hands it to <paramref name="sink"/>. read_timeout (and
    /// request_timeout) bound each wait on the upstream, never the time spent flushing to a slow client.
    /// Complete: the upstream connection is at the end of the response, and the last bytes are written but not flushed
    /// (the caller sends them after releasing the upstream connection, see ExchangeAsync).
    /// </summary>
    /// <param name="resume">The body was read in part already (a body policy's read past its size): the chunked decoder goes on where it stopped.</param>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyCopy> CopyResponseBodyAsync<TSink>(UpstreamConnection connection, Upstream upstream, BodyKind kind, TSink sink, bool resume = false)
        where TSink : struct, IResponseBodySink
    {
        var input = connection.Input;
        long remaining = kind == BodyKind.ContentLength ? _response.ContentLength : long.MaxValue;
        if (kind == BodyKind.Chunked && !resume) _responseDecoder = new ChunkedDecoder(maxBody: 0, ResponseLimits.MaxHeaderBytes, ResponseLimits.MaxHeaders);
        bool completed = false;
        try
        {
            if (kind == BodyKind.None)
            {
                sink.OnEnd();
                completed = true;
                return BodyCopy.Complete;
            }
            while (true)
            {
                bool timedOut = false;
                if (!input.TryRead(out var result))
                {
                    if (sink.Streams)
                    {
                        // Send what we have before waiting: the client should not wait on our buffering.
                        sink.OnIdle();
                        var flushed = await _output.FlushAsync();
                        if (flushed.IsCompleted) return BodyCopy.DestinationClosed;
                    }
                    // read_timeout (default: response_timeout) bounds how long the server may stall mid-body, and
                    // request_timeout the whole: only while we wait on it. Time spent flushing to a slow client is not
                    // the server's delay (the deadline must not run then).
                    _upstreamDeadline.Arm(input, Budget(upstream.ReadTimeoutMs));
                    result = await input.ReadAsync();
                    timedOut = result.IsCanceled && _upstreamDeadline.TimedOut;
                    _upstreamDeadline.Disarm();
                }
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    // Also a cancellation that fired just as data arrived: the next read goes on normally.
                    input.AdvanceTo(buffer.Start);
                    if (timedOut) return BodyCopy.TimedOut;
                    continue;
                }

                bool done;
                long take;
                switch (kind)
                {
                    case BodyKind.ContentLength:
                        take = Math.Min(buffer.Length, remaining);
                        sink.OnContent(buffer.Slice(0, take));
                        remaining -= take;
                        done = remaining == 0;
                        break;
                    case BodyKind.Chunked:
                        var step = _responseDecoder.Decode(buffer, ref sink, out take);
                        if (step == ChunkedStep.Error)
                        {
                            input.AdvanceTo(buffer.Start);
                            return BodyCopy.Invalid;
                        }
                        done = step == ChunkedStep.Done;
                        break;
                    default:
                        take = buffer.Length;
                        sink.OnContent(buffer);
                        done = result.IsCompleted;
                        break;
                }

                input.AdvanceTo(buffer.GetPosition(take));
                if (sink.CountsTaken && _recording) _record!.BytesOut += take;
                if (done)
                {
                    sink.OnEnd();
                    completed = true;
                    return BodyCopy.Complete;
                }
                if (result.IsCompleted)
                {
                    if (sink.Streams) await _output.FlushAsync();
                    return BodyCopy.Truncated;
                }
                if (sink.Full) return BodyCopy.Aborted;
                if (sink.Streams && _output.UnflushedBytes >= Transport.PipeSettings.LargeBlock)
                {
                    var flushed = await _output.FlushAsync();
                    if (flushed.IsCompleted) return BodyCopy.DestinationClosed;
                }
            }
        }
        finally
        {
            _upstreamDeadline.Disarm();
            sink.OnExit(completed);
        }
    }

    private static void WriteSequence(IBufferWriter<byte> output, in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            output.Write(bytes.FirstSpan);
            return;
        }
        foreach (var segment in bytes) output.Write(segment.Span);
    }
}
