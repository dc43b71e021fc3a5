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
                    take = 0;
                    foreach (var segment in buffer)
                    {
                        var span = segment.Span;
                        while (!span.IsEmpty)
                        {
                            var step = _requestDecoder.Next(span, out int consumed);
                            take += consumed;
                            span = span[consumed..];
                            if (step == ChunkedStep.Error)
                            {
                                _input.AdvanceTo(buffer.Start);
                                return BodyCopy.Invalid;
                            }
                            if (step == ChunkedStep.Done) { done = true; break; }
                        }
                        if (done) break;
                    }
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

    /// <summary>Streams the response body from the upstream to the client, delimited as the response head says.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    /// <param name="resume">The body was read in part already (a body policy's read past its size): the chunked decoder goes on where it stopped.</param>
    private async ValueTask<BodyCopy> CopyResponseBodyAsync(UpstreamConnection connection, Upstream upstream, BodyKind kind, bool dechunk, bool resume = false)
    {
        // When the body is complete its last bytes are left unflushed: the caller sends them after releasing the
        // upstream connection (see ExchangeAsync).
        if (kind == BodyKind.None) return BodyCopy.Complete;

        var input = connection.Input;
        long remaining = kind == BodyKind.ContentLength ? _response.ContentLength : long.MaxValue;
        if (kind == BodyKind.Chunked && !resume) _responseDecoder = new ChunkedDecoder(maxBody: 0, ResponseLimits.MaxHeaderBytes, ResponseLimits.MaxHeaders);
        try
        {
            while (true)
            {
                // Send what we have before waiting: the client should not wait on our buffering.
                bool timedOut = false;
                if (!input.TryRead(out var result))
                {
                    var flushed = await _output.FlushAsync();
                    if (flushed.IsCompleted) return BodyCopy.DestinationClosed;
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

                bool done = false;
                long take;
                switch (kind)
                {
                    case BodyKind.ContentLength:
                        take = Math.Min(buffer.Length, remaining);
                        WriteSequence(_output, buffer.Slice(0, take));
                        remaining -= take;
                        done = remaining == 0;
                        break;
                    case BodyKind.Chunked:
                        take = 0;
                        foreach (var segment in buffer)
                        {
                            var span = segment.Span;
                            while (!span.IsEmpty)
                            {
                                var step = _responseDecoder.Next(span, out int consumed);
                                if (step == ChunkedStep.Error)
                                {
                                    input.AdvanceTo(buffer.Start);
                                    return BodyCopy.Invalid;
                                }
                                if (!dechunk || step == ChunkedStep.Data) _output.Write(span[..consumed]);
                                take += consumed;
                                span = span[consumed..];
                                if (step == ChunkedStep.Done) { done = true; break; }
                            }
                            if (done) break;
                        }
                        break;
                    default:
                        take = buffer.Length;
                        WriteSequence(_output, buffer);
                        done = result.IsCompleted;
                        break;
                }

                input.AdvanceTo(buffer.GetPosition(take));
                if (_recording) _record!.BytesOut += take;
                if (done) return BodyCopy.Complete;
                if (result.IsCompleted)
                {
                    await _output.FlushAsync();
                    return BodyCopy.Truncated;
                }
                if (_output.UnflushedBytes >= Transport.PipeSettings.LargeBlock)
                {
                    var flushed = await _output.FlushAsync();
                    if (flushed.IsCompleted) return BodyCopy.DestinationClosed;
                }
            }
        }
        finally
        {
            _upstreamDeadline.Disarm();
        }
    }
}
