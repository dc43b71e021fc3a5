using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace FastProxy.Transport;

/// <summary>
/// A client connection's socket as a <see cref="PipeReader"/> (this object) and a <see cref="PipeWriter"/>
/// (<see cref="Output"/>) that hold no buffer, no pipe and no running loop while the connection is idle: the reader
/// waits for data with a zero-byte receive and rents a block only once bytes have arrived, giving it back as soon as
/// they are consumed; the writer rents blocks while a response is written and returns them once the flush has handed
/// them to the socket, which it does directly (a non-blocking send; an asynchronous one only when the socket buffer is
/// full). Completions run inline, on the socket engine's thread, as with the pipes elsewhere.
/// </summary>
/// <remarks>
/// Pipelines.Sockets.Unofficial's SocketConnection, which carries upstream connections, keeps two <see cref="Pipe"/>s,
/// two SocketAsyncEventArgs and two running loops per connection: about 2.7 KB of managed objects for every idle
/// keep-alive client (heap walk, perf-results/tuning-log.md). This keeps one zero-byte receive in flight on its own
/// SocketAsyncEventArgs: about 540 bytes per idle connection with that.
/// Semantics the layers above rely on, as with SocketConnection: a read after <see cref="CancelPendingRead"/> (or one
/// pending when it is called) returns <see cref="ReadResult.IsCanceled"/>; completing <see cref="Output"/> sends what is
/// buffered and then a FIN (half-close); a peer that is gone makes a flush return <see cref="FlushResult.IsCompleted"/>
/// and a read throw. Unlike a pipe, a flush returns only once its bytes are in the socket, so completing the output
/// means every byte has left user space (the lingering close relies on that).
/// </remarks>
internal sealed partial class LeanSocket : PipeReader, IDuplexPipe, IValueTaskSource<ReadResult>, IDisposable
{
    /// <summary>A receive goes into the last block while this much room is left in it, else into a fresh block.</summary>
    private const int MinimumReadSpace = 1024;

    private const int Idle = 0;
    /// <summary>A zero-byte receive is in flight and a read waits on it.</summary>
    private const int Waiting = 1;
    /// <summary>A zero-byte receive is in flight, but its read was cancelled: the next read waits on it again.</summary>
    private const int Orphaned = 2;

    private readonly Socket _socket;
    private readonly BlockMemoryPool _pool;
    private readonly WaitArgs _waitArgs;
    private ManualResetValueTaskSourceCore<ReadResult> _source;
    private int _state;

    private BlockSegment? _head;
    private BlockSegment? _tail;
    private int _headIndex;
    /// <summary>The last <see cref="AdvanceTo(SequencePosition, SequencePosition)"/> examined every byte: the next read must bring new ones.</summary>
    private bool _examinedAll;
    private bool _endOfStream;
    private bool _readerCompleted;
    private volatile bool _cancelRequested;
    private int _disposed;

    public LeanSocket(Socket socket, BlockMemoryPool pool)
    {
        _socket = socket;
        _pool = pool;
        // Sends and receives are attempted without blocking; waiting is always asynchronous.
        socket.Blocking = false;
        _waitArgs = new WaitArgs(this);
        Output = new Writer(this);
    }

    public PipeWriter Output { get; }

    PipeReader IDuplexPipe.Input => this;

    /// <summary>
    /// A pooled upstream connection waits for its next request: a zero-byte receive goes in flight with no read
    /// waiting on it, so that whatever arrives meanwhile (the server's FIN when it closes an idle keep-alive
    /// connection, stray bytes, a reset) ends it and <see cref="IsQuiet"/> turns false, without a system call at reuse.
    /// The next read waits on that same receive (as after a cancelled read): the response then costs one receive.
    /// </summary>
    public void WatchWhileIdle()
    {
        if (_head is not null || _endOfStream || _readerCompleted || Volatile.Read(ref _state) != Idle) return;
        Volatile.Write(ref _state, Orphaned);
        bool pending;
        try
        {
            pending = _socket.ReceiveAsync(_waitArgs);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException or InvalidOperationException)
        {
            pending = false;
        }
        // Done at once: something is there already (or the socket is gone); the next read looks for itself.
        if (!pending) Volatile.Write(ref _state, Idle);
    }

    /// <summary>
    /// Nothing (no byte, FIN or error) is waiting on the connection and nothing is buffered: while the receive left by
    /// <see cref="WatchWhileIdle"/> is still in flight that is known without a system call. When it is not (it ended,
    /// or could not start), the socket itself is asked: readable means data, a FIN or an error. (Its ending alone is no
    /// proof that something came: under a full test run a watch was seen to end with the server silent, and the pool
    /// then opened a fresh connection where the reused one was sound.)
    /// </summary>
    /// <summary>The receive left by <see cref="WatchWhileIdle"/> is still in flight: nothing has ended it.</summary>
    internal bool Watching => Volatile.Read(ref _state) == Orphaned;

    public bool IsQuiet
    {
        get
        {
            if (_disposed != 0 || _endOfStream || _head is not null) return false;
            if (Watching) return true;
            try
            {
                return !_socket.Poll(0, SelectMode.SelectRead);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// The peer has closed its side (FIN) or the connection failed, with nothing left to read: asked by the heartbeat of
    /// a client connection whose request waits on a policy (a mock's delay), and only then. One poll(2), no read.
    /// </summary>
    public bool PeerGone
    {
        get
        {
            if (_disposed != 0 || _endOfStream) return true;
            try
            {
                // Readable with nothing to read is an end of stream or an error; readable with bytes is a pipelined request.
                return _socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return true;
            }
        }
    }

    private ReadOnlySequence<byte> Buffer => _head is null
        ? default // (not ReadOnlySequence.Empty, whose positions name an array, not a segment)
        : new ReadOnlySequence<byte>(_head, _headIndex, _tail!, _tail!.End);

    public override bool TryRead(out ReadResult result)
    {
        if (_readerCompleted) throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        if (_cancelRequested)
        {
            _cancelRequested = false;
            result = new ReadResult(Buffer, isCanceled: true, _endOfStream);
            return true;
        }
        if (_endOfStream || (_head is not null && !_examinedAll))
        {
            result = new ReadResult(Buffer, isCanceled: false, _endOfStream);
            return true;
        }
        result = default;
        return false;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (TryRead(out var result)) return new ValueTask<ReadResult>(result);
        // A receive still in flight from a cancelled read: wait on it again rather than start another.
        if (Volatile.Read(ref _state) == Orphaned)
        {
            _source.Reset();
            if (Interlocked.CompareExchange(ref _state, Waiting, Orphaned) == Orphaned) return new ValueTask<ReadResult>(this, _source.Version);
            // It completed meanwhile: data is probably there.
        }
        _source.Reset();
        return WaitOrReceive(out result) ? new ValueTask<ReadResult>(result) : new ValueTask<ReadResult>(this, _source.Version);
    }

    /// <summary>
    /// Waits for data with a zero-byte receive (no buffer held while waiting), then receives what arrived. True with a
    /// result when that happened at once; false when the wait is in flight and the read (<see cref="_source"/>, already
    /// reset by the caller) will complete from it.
    /// </summary>
    private bool WaitOrReceive(out ReadResult result)
    {
        while (true)
        {
            // Waiting before the receive starts: its completion may run at once, on another thread.
            Volatile.Write(ref _state, Waiting);
            if (_socket.ReceiveAsync(_waitArgs))
            {
                // A cancellation that came since TryRead looked (it found no read waiting) must not be lost.
                if (_cancelRequested) CancelPendingRead();
                result = default;
                return false;
            }
            // Done at once; unless a cancellation slipped in meanwhile and completed the read (through _source).
            if (Interlocked.Exchange(ref _state, Idle) == Orphaned)
            {
                result = default;
                return false;
            }
            if (_waitArgs.SocketError != SocketError.Success) throw new SocketException((int)_waitArgs.SocketError); // a reset
            if (TryReceive(out result)) return true;
        }
    }

    private void OnWaitCompleted()
    {
        Exception? error = _waitArgs.SocketError == SocketError.Success ? null : new SocketException((int)_waitArgs.SocketError);
        if (Interlocked.Exchange(ref _state, Idle) != Waiting) return; // cancelled: the next read looks for itself
        if (_readerCompleted)
        {
            _source.SetException(new ObjectDisposedException(nameof(LeanSocket)));
            return;
        }
        if (error is null)
        {
            try
            {
                if (TryReceive(out var result))
                {
                    _source.SetResult(result);
                    return;
                }
                // Nothing after all: wait again.
                if (WaitOrReceive(out result)) _source.SetResult(result);
                return;
            }
            catch (Exception ex)
            {
                error = ex;
            }
        }
        _source.SetException(error);
    }

    /// <summary>One non-blocking receive into the tail block. False: nothing there yet (the block, if fresh, goes back).</summary>
    private bool TryReceive(out ReadResult result)
    {
        var tail = _tail;
        bool fresh = false;
        if (tail is null || tail.Capacity - tail.End < MinimumReadSpace)
        {
            var segment = BlockSegment.Rent(_pool.Rent(), tail);
            if (tail is null) _head = segment;
            else tail.SetNext(segment);
            _tail = tail = segment;
            fresh = true;
        }
        int received = _socket.Receive(tail.Writable.Span, SocketFlags.None, out var error);
        if (error == SocketError.WouldBlock)
        {
            if (fresh) DropTail();
            result = default;
            return false;
        }
        if (error != SocketError.Success)
        {
            if (fresh) DropTail();
            throw new SocketException((int)error);
        }
        if (received == 0)
        {
            _endOfStream = true;
            if (fresh) DropTail();
        }
        else
        {
            tail.Commit(received);
            _examinedAll = false;
        }
        result = new ReadResult(Buffer, isCanceled: false, _endOfStream);
        return true;
    }

    /// <summary>Gives back a tail block that received nothing.</summary>
    private void DropTail()
    {
        var tail = _tail!;
        if (ReferenceEquals(tail, _head))
        {
            _head = _tail = null;
            _headIndex = 0;
        }
        else
        {
            var previous = _head!;
            while (!ReferenceEquals(previous.Next, tail)) previous = (BlockSegment)previous.Next!;
            previous.SetNext(null);
            _tail = previous;
        }
        tail.Return();
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_readerCompleted) throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        var consumedSegment = consumed.GetObject() as BlockSegment;
        if (_head is null || consumedSegment is null)
        {
            // An empty buffer (or its default positions): nothing to give back.
            _examinedAll = true;
            return;
        }
        var examinedSegment = examined.GetObject() as BlockSegment;
        _examinedAll = ReferenceEquals(examinedSegment, _tail) && examined.GetInteger() == _tail!.End;

        int consumedIndex = consumed.GetInteger();
        while (!ReferenceEquals(_head, consumedSegment))
        {
            var next = (BlockSegment)_head!.Next!;
            _head.Return();
            _head = next;
        }
        _headIndex = consumedIndex;
        // Everything in this block consumed: it goes back now, the buffer is empty or starts at the next block.
        if (consumedIndex == consumedSegment.End)
        {
            var next = (BlockSegment?)consumedSegment.Next;
            consumedSegment.Return();
            _head = next;
            _headIndex = 0;
            if (next is null) _tail = null;
        }
    }

    public override void CancelPendingRead()
    {
        _cancelRequested = true;
        // A read waiting on the socket is released now; its receive stays in flight for the next read.
        if (Interlocked.CompareExchange(ref _state, Orphaned, Waiting) == Waiting)
        {
            _cancelRequested = false;
            _source.SetResult(new ReadResult(Buffer, isCanceled: true, _endOfStream));
        }
    }

    public override void Complete(Exception? exception = null)
    {
        if (_readerCompleted) return;
        _readerCompleted = true;
        while (_head is not null)
        {
            var next = (BlockSegment?)_head.Next;
            _head.Return();
            _head = next;
        }
        _tail = null;
    }

    /// <summary>
    /// Cuts the connection: the socket closes, a receive in flight ends, a send in flight fails. Shut down both ways
    /// first, as SocketConnection does: what the kernel already holds still goes out and the peer sees a FIN, where
    /// closing a socket with operations in flight alone would reset it.
    /// The receive's event args are disposed too (with a receive in flight, by the runtime once it has ended): a
    /// SocketAsyncEventArgs left to its finalizer kept the connection's whole object graph (this object, the socket,
    /// its context) through the next full collection, and after a burst thousands of closed upstream connections
    /// survived the collection meant to give their memory back.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { /* gone */ }
        _socket.Dispose();
        _waitArgs.Dispose();
    }

    /// <summary>
    /// The zero-byte receive, one per connection and reused: its completion calls back directly (no delegate, no
    /// awaitable of the socket's own: 100 bytes less per idle connection than Socket.ReceiveAsync(Memory) measured).
    /// </summary>
    private sealed class WaitArgs : SocketAsyncEventArgs
    {
        private readonly LeanSocket _owner;

        public WaitArgs(LeanSocket owner) : base(unsafeSuppressExecutionContextFlow: true)
        {
            _owner = owner;
            SetBuffer(Memory<byte>.Empty);
        }

        protected override void OnCompleted(SocketAsyncEventArgs e) => _owner.OnWaitCompleted();
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _source.OnCompleted(continuation, state, token, flags);
}
