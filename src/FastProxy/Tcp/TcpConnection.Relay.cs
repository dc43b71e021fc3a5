using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Transport;

namespace FastProxy.Tcp;

internal sealed partial class TcpConnection
{
    /// <summary>
    /// The send pipes of relayed connections. A flush returns only once the socket has taken every byte (the writer
    /// pauses at 1 unsent byte and resumes at 0), so: back-pressure is the socket's own (a slow reader stops our
    /// reads from the other side, and a 1 GiB stream holds no more than the receive pipe's threshold plus what is in
    /// flight); and when one side ends, everything before its end of stream is already in the kernel, so the
    /// half-close that follows (the send loop shuts the socket down) and the close after it lose nothing. The send
    /// loop runs inline and a send that the kernel takes at once completes synchronously, so the common flush costs
    /// no more than with the default thresholds.
    /// Large blocks, as the receive side's, so that a received segment is sent from one block: a multi-segment send
    /// goes through a shared buffer list in Pipelines.Sockets.Unofficial and, beyond 8 segments, makes the runtime
    /// allocate its iovec and handle arrays for each sendmsg (measured with 4 KiB blocks: ~10 MB per 2 GiB relayed).
    /// A block is held only while its bytes are unsent: a drained pipe gives it back.
    /// </summary>
    private static readonly PipeOptions RelaySend = new(
        pool: PipeSettings.LargeBlocks,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 1,
        resumeWriterThreshold: 1,
        minimumSegmentSize: PipeSettings.LargeBlock,
        useSynchronizationContext: false);

    /// <summary>Set by the relay loops whenever bytes move; the heartbeat clears it and notes the time.</summary>
    private bool _active;
    private long _lastActiveMs;
    private volatile bool _idleTimedOut;

    private void StartRelay()
    {
        _lastActiveMs = Heartbeat.NowMs;
        Volatile.Write(ref _active, false);
        _phase = Phase.Relay;
    }

    /// <summary>idle_timeout: no byte read or sent either way since the last few heartbeats closes both sides.</summary>
    private void CheckIdle(long nowMs)
    {
        long timeout = _runtime?.IdleTimeoutMs ?? 0;
        if (timeout <= 0) return;
        if (Volatile.Read(ref _active))
        {
            Volatile.Write(ref _active, false);
            _lastActiveMs = nowMs;
        }
        else if (nowMs - _lastActiveMs >= timeout)
        {
            _idleTimedOut = true;
            Abort();
        }
    }

    /// <summary>
    /// Copies one direction until its source ends, then half-closes the destination: the peer sees the end of stream
    /// in this direction only, and the other direction goes on. Each received segment (one socket read, at most a
    /// large block) is copied into the send pipe's pooled blocks and sent before the next: nothing is allocated per
    /// read, and a send never gathers more than one block (see <see cref="RelaySend"/>).
    /// A source that is reset takes the whole connection down (as a reset would end a direct connection); a
    /// destination that can no longer receive ends this direction only, so what the other side still sends (a
    /// server's answer to a refused upload, say) is delivered.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask RelayAsync(PipeReader source, PipeWriter destination)
    {
        while (true)
        {
            ReadResult result;
            try
            {
                result = await source.ReadAsync();
            }
            catch (Exception)
            {
                Abort();
                return;
            }
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                // Only a ClientHello deadline cancels reads, and it fired as the relay began: the connection timed out.
                source.AdvanceTo(buffer.Start);
                Abort();
                return;
            }

            bool sent = true;
            foreach (var segment in buffer)
            {
                Volatile.Write(ref _active, true);
                if (!await SendAsync(destination, segment))
                {
                    sent = false;
                    break;
                }
            }
            source.AdvanceTo(buffer.End);
            if (!sent) return;
            if (result.IsCompleted) break;
        }
        // End of stream from the source, and everything before it is sent: pass the half-close on.
        try { destination.Complete(); } catch { /* the send loop ended already */ }
    }

    /// <summary>Copies and sends; false when the destination can no longer receive (its send loop ended and completed the pipe).</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendAsync(PipeWriter destination, ReadOnlyMemory<byte> bytes)
    {
        try
        {
            destination.Write(bytes.Span);
            var flush = await destination.FlushAsync();
            if (flush.IsCompleted || flush.IsCanceled) return false;
            Volatile.Write(ref _active, true);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
