using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Async;

namespace FastProxy.Transport;

internal sealed partial class LeanSocket
{
    /// <summary>After the last response: our FIN (half-close). The socket may be gone already.</summary>
    private void ShutdownSend()
    {
        try { _socket.Shutdown(SocketShutdown.Send); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { /* gone */ }
    }

    /// <summary>
    /// Buffers what is written in pooled blocks and sends it on flush: one non-blocking send (a gathered one for
    /// several blocks), and an asynchronous send only for what the socket would not take at once. The blocks go back
    /// as soon as they are sent, so an idle connection holds none.
    /// </summary>
    private sealed class Writer(LeanSocket owner) : PipeWriter
    {
        /// <summary>
        /// Blocks per gathered send: 32 KiB of 4 KiB blocks. Socket.Send over a list keeps its iovecs and pin handles on
        /// the stack up to 8 buffers and allocates two arrays beyond (SocketPal.Unix, IovStackThreshold = 8): with 64,
        /// every flush of more than 8 blocks (an HTTP/2 flush carrying a few 16 KiB bodies: ~140 bytes per static-file
        /// stream) allocated. A larger flush takes one more sendmsg per 32 KiB, small beside copying the 32 KiB.
        /// </summary>
        private const int MaxGather = 8;

        [ThreadStatic] private static List<ArraySegment<byte>>? t_gather;

        private BlockSegment? _head;
        private BlockSegment? _tail;
        /// <summary>Bytes of <see cref="_head"/> already sent.</summary>
        private int _headIndex;
        private long _unflushed;
        private bool _completed;
        /// <summary>The peer is gone (a send failed): flushes report completion, as a pipe whose reader ended does.</summary>
        private bool _broken;
        private volatile bool _flushCanceled;
        /// <summary>Only for a send that had to wait (created then, not per connection).</summary>
        private CancellationTokenSource? _sendCancel;

        public override bool CanGetUnflushedBytes => true;

        public override long UnflushedBytes => _unflushed;

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (_completed) throw new InvalidOperationException("Writing is not allowed after the writer was completed.");
            int need = Math.Max(sizeHint, 1);
            var tail = _tail;
            if (tail is null || tail.Capacity - tail.End < need)
            {
                // A block from the pool; a larger buffer (a big response head) from the shared array pool.
                var memory = need <= owner._pool.BlockSize ? owner._pool.Rent() : MemoryPool<byte>.Shared.Rent(need);
                var segment = BlockSegment.Rent(memory, tail);
                if (tail is null)
                {
                    _head = segment;
                    _headIndex = 0;
                }
                else
                {
                    tail.SetNext(segment);
                }
                _tail = tail = segment;
            }
            return tail.Writable;
        }

        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override void Advance(int bytes)
        {
            _tail!.Commit(bytes);
            _unflushed += bytes;
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            if (_broken)
            {
                Release();
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            }
            if (_unflushed == 0) return default;
            var error = SendWithoutWaiting();
            if (error == SocketError.Success) return default;
            if (error == SocketError.WouldBlock) return SendRestAsync();
            Broken();
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }

        /// <summary>Sends what the socket takes now; <see cref="SocketError.WouldBlock"/> when some is left.</summary>
        private SocketError SendWithoutWaiting()
        {
            var socket = owner._socket;
            while (_head is not null)
            {
                int sent;
                SocketError error;
                if (_head.Next is null)
                {
                    sent = socket.Send(_head.Memory.Span[_headIndex..], SocketFlags.None, out error);
                }
                else
                {
                    // Several blocks (a larger body): one gathered send, as the pipes' send loop does; at most
                    // MaxGather blocks at a time (no allocation in Socket.Send; sendmsg refuses more than IOV_MAX vectors).
                    var gather = t_gather ??= new List<ArraySegment<byte>>(MaxGather);
                    for (var segment = _head; segment is not null && gather.Count < MaxGather; segment = (BlockSegment?)segment.Next)
                    {
                        int start = ReferenceEquals(segment, _head) ? _headIndex : 0;
                        if (segment.End > start) gather.Add(segment.ArraySegment(start));
                    }
                    try
                    {
                        sent = 0;
                        error = SocketError.Success;
                        if (gather.Count > 0) sent = socket.Send(gather, SocketFlags.None, out error);
                    }
                    finally
                    {
                        gather.Clear();
                    }
                }
                if (error != SocketError.Success) return error;
                Consume(sent);
            }
            _unflushed = 0;
            return SocketError.Success;
        }

        /// <summary>Drops the blocks <paramref name="sent"/> bytes cover; an empty chain goes back whole.</summary>
        private void Consume(int sent)
        {
            _unflushed -= sent;
            while (_head is not null)
            {
                int left = _head.End - _headIndex;
                if (sent < left)
                {
                    _headIndex += sent;
                    return;
                }
                sent -= left;
                var next = (BlockSegment?)_head.Next;
                _head.Return();
                _head = next;
                _headIndex = 0;
                if (next is null) _tail = null;
            }
        }

        /// <summary>The socket's buffer is full (a slow client, a large body): wait for room, block by block.</summary>
        [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
        private async ValueTask<FlushResult> SendRestAsync()
        {
            try
            {
                while (_head is not null)
                {
                    if (_flushCanceled)
                    {
                        _flushCanceled = false;
                        return new FlushResult(isCanceled: true, isCompleted: false);
                    }
                    var pending = _head.Memory[_headIndex..];
                    if (pending.IsEmpty)
                    {
                        Consume(0); // an empty block: dropped
                        continue;
                    }
                    _sendCancel ??= new CancellationTokenSource();
                    int sent = await owner._socket.SendAsync(pending, SocketFlags.None, _sendCancel.Token);
                    Consume(sent);
                    // What is left may go without waiting again.
                    if (_head is not null)
                    {
                        var error = SendWithoutWaiting();
                        if (error == SocketError.Success) break;
                        if (error != SocketError.WouldBlock)
                        {
                            Broken();
                            return new FlushResult(isCanceled: false, isCompleted: true);
                        }
                    }
                }
                _unflushed = 0;
                return default;
            }
            catch (OperationCanceledException) when (_flushCanceled)
            {
                _flushCanceled = false;
                _sendCancel = null;
                return new FlushResult(isCanceled: true, isCompleted: false);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                Broken();
                return new FlushResult(isCanceled: false, isCompleted: true);
            }
        }

        private void Broken()
        {
            _broken = true;
            Release();
        }

        /// <summary>Gives every block back (what is unsent is dropped).</summary>
        private void Release()
        {
            while (_head is not null)
            {
                var next = (BlockSegment?)_head.Next;
                _head.Return();
                _head = next;
            }
            _tail = null;
            _headIndex = 0;
            _unflushed = 0;
        }

        public override void CancelPendingFlush()
        {
            _flushCanceled = true;
            try { _sendCancel?.Cancel(); } catch (ObjectDisposedException) { /* finished */ }
        }

        /// <summary>Sends what the socket takes without waiting, then the FIN; the rest is dropped (use <see cref="CompleteAsync"/> to wait).</summary>
        public override void Complete(Exception? exception = null)
        {
            if (_completed) return;
            _completed = true;
            if (exception is null && !_broken)
            {
                if (_unflushed > 0 && SendWithoutWaiting() != SocketError.Success) _broken = true;
                if (!_broken) owner.ShutdownSend();
            }
            Release();
        }

        /// <summary>Sends everything buffered (waiting for room if need be), then the FIN: the peer sees end-of-stream.</summary>
        [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
        public override async ValueTask CompleteAsync(Exception? exception = null)
        {
            if (_completed) return;
            if (exception is null && !_broken && _unflushed > 0) await FlushAsync();
            _completed = true;
            if (exception is null && !_broken) owner.ShutdownSend();
            Release();
        }
    }
}
