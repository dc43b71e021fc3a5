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

/// <summary>The direct answer: a complete small response written as frames by its exchange, with no pipe and no pump.</summary>
internal sealed partial class Http2Connection
{
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
}
