using System.Buffers;
using System.IO.Pipelines;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

/// <summary>
/// A request that ended with its HEADERS (no body: GET, HEAD, most DELETEs) as its stream-mode
/// <see cref="Http1Connection"/> reads it: the converted HTTP/1.1 head in one pooled block, already complete. It
/// needs no pipe, no flush and no hop to the thread pool: the exchange starts on the connection's read loop, as an
/// HTTP/1.1 request does on its socket's, and runs until it waits for the upstream. Written once by
/// <see cref="Http2Stream.WriteHead(IBufferWriter{byte})"/> (as an <see cref="IBufferWriter{T}"/> of one block),
/// then read by the exchange only.
/// </summary>
internal sealed class Http2BufferedRequest : PipeReader, IBufferWriter<byte>
{
    private IMemoryOwner<byte>? _block;
    private Memory<byte> _memory;
    private int _start;
    private int _end;
    /// <summary>The sequence last handed out: positions the reader gives back belong to it.</summary>
    private ReadOnlySequence<byte> _last;
    private bool _cancelNext;

    /// <summary>The largest head that fits (a longer one goes through the stream's request pipe).</summary>
    public static int Capacity => PipeSettings.SmallBlock;

    /// <summary>
    /// Ready for one request: an instance belongs to a pooled <see cref="Http1Connection"/> and is reused for each
    /// bodiless stream it serves (<see cref="Http1Connection.StreamRequest"/>); its block goes back at Complete.
    /// </summary>
    public Http2BufferedRequest Start()
    {
        _block = PipeSettings.SmallBlocks.Rent(PipeSettings.SmallBlock);
        _memory = _block.Memory;
        _start = _end = 0;
        _last = default;
        _cancelNext = false;
        return this;
    }

    public void Advance(int count) => _end += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_memory.Length - _end < Math.Max(sizeHint, 1)) throw new InvalidOperationException("the request head outgrew its block");
        return _memory[_end..];
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override bool TryRead(out ReadResult result)
    {
        if (_block is null) throw new InvalidOperationException("reading a completed request");
        _last = new ReadOnlySequence<byte>(_memory[_start.._end]);
        result = new ReadResult(_last, _cancelNext, isCompleted: true);
        _cancelNext = false;
        return true;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        TryRead(out var result);
        return new ValueTask<ReadResult>(result);
    }

    public override void AdvanceTo(SequencePosition consumed) => _start += (int)_last.Slice(_last.Start, consumed).Length;

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => AdvanceTo(consumed);

    /// <summary>A deadline fired: the next read says so (there is never a read in progress to wake).</summary>
    public override void CancelPendingRead() => _cancelNext = true;

    public override void Complete(Exception? exception = null)
    {
        var block = _block;
        _block = null;
        _memory = default;
        _last = default;
        block?.Dispose();
    }
}
