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

/// <summary>
/// The connection's shared flush: frames the pumps and direct answers write wait for one gathered send (queued to the
/// thread pool as this connection's work item), unless enough is unsent that the writer flushes and waits itself.
/// </summary>
internal sealed partial class Http2Connection : IThreadPoolWorkItem
{
    /// <summary>
    /// Frames written but not yet sent below this many octets wait for the connection's shared flush (see
    /// <see cref="AfterWrite"/>); at or above it the writer flushes at once and waits for the socket, which is the
    /// back-pressure a slow client puts on the streams' pumps.
    /// </summary>
    private const int CoalesceLimit = 32 * 1024;

    /// <summary>A shared flush is queued and has not yet run (under the write lock).</summary>
    private bool _flushScheduled;

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
}
