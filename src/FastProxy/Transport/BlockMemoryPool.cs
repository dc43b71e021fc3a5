using System.Buffers;
using System.Runtime.InteropServices;

namespace FastProxy.Transport;

/// <summary>
/// A pool of fixed-size, pinned buffers for the pipes, that grows to the peak number in use and gives back what
/// stays unused: slowly under steady load (<see cref="Trim"/>), and at once when the process goes quiet after a burst
/// (<see cref="SampleIdle"/> and <see cref="Release"/>, driven by <c>Hosting/MemoryReclaimer</c>). Renting and
/// returning allocate nothing: a block is its own <see cref="IMemoryOwner{T}"/>.
/// </summary>
/// <remarks>
/// Why not <c>ArrayPool&lt;byte&gt;.Shared</c> (the pipes' default): it keeps a few dozen arrays per size per core and
/// drops the rest on return. A proxy holds one receive buffer per request in flight (the request stays buffered
/// until the response head arrives, so that a stale pooled connection can be retried); with 64 connections that
/// outgrew the shared pool, and every few requests allocated a fresh buffer (measured: ~6 KB per request under
/// wrk -c64, none with one connection). Blocks are pinned (on the pinned object heap), so socket operations need
/// not pin them each time. Requests larger than a block go to the array pool (the pipe does that itself).
/// Kestrel's PinnedBlockMemoryPool (.NET 9) evicts idle blocks the same way, by how much of the pool the last period
/// used; here what went unused for a whole period is measured exactly (the fewest free blocks seen in it).
/// </remarks>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    private readonly Lock _lock = new();
    private Block[] _free = new Block[64];
    private int _freeCount;
    /// <summary>Fewest free blocks seen since the last trim: that many were not needed in the last period.</summary>
    private int _lowWater;
    /// <summary>The same since the last <see cref="SampleIdle"/> (the quiet check's shorter period).</summary>
    private int _idleLow;
    /// <summary>Blocks rented and not yet returned, and the most of them at once since the last <see cref="SampleIdle"/>.</summary>
    private int _inUse;
    private int _peakInUse;
    private int _created;

    public BlockMemoryPool(int blockSize) => BlockSize = blockSize;

    public int BlockSize { get; }

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks in existence (in use and free), for tests and diagnostics.</summary>
    public int Created => Volatile.Read(ref _created);

    public int Free => Volatile.Read(ref _freeCount);

    /// <summary>Bytes the pool holds without anyone using them (its free blocks).</summary>
    public long FreeBytes => (long)Free * BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize) throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"blocks are {BlockSize} bytes");
        lock (_lock)
        {
            if (++_inUse > _peakInUse) _peakInUse = _inUse;
            if (_freeCount > 0)
            {
                var block = _free[--_freeCount];
                _free[_freeCount] = null!;
                if (_freeCount < _lowWater) _lowWater = _freeCount;
                if (_freeCount < _idleLow) _idleLow = _freeCount;
                block.Rented = true;
                return block;
            }
            _lowWater = 0;
            _idleLow = 0;
        }
        Interlocked.Increment(ref _created);
        return new Block(this, GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true)) { Rented = true };
    }

    private void Return(Block block)
    {
        lock (_lock)
        {
            if (!block.Rented) return; // disposed twice: keep it in the pool once
            block.Rented = false;
            _inUse--;
            if (_freeCount == _free.Length) Array.Resize(ref _free, _free.Length * 2);
            _free[_freeCount++] = block;
        }
    }

    /// <summary>
    /// Lets go of half the blocks that stayed free for a whole period (called every few seconds by the host):
    /// under steady load a pool that once grew shrinks over a minute or so instead of keeping its peak for ever.
    /// </summary>
    public int Trim()
    {
        lock (_lock)
        {
            int surplus = _lowWater / 2;
            _lowWater = _freeCount - surplus;
            return surplus == 0 ? 0 : ReleaseLocked(surplus);
        }
    }

    /// <summary>
    /// What the period since the last call used: <paramref name="idle"/> blocks stayed free all through it (nobody
    /// needed them), and at most <paramref name="peakInUse"/> were in use at once. Starts the next period.
    /// </summary>
    public void SampleIdle(out int idle, out int peakInUse)
    {
        lock (_lock)
        {
            idle = _idleLow;
            peakInUse = _peakInUse;
            _idleLow = _freeCount;
            _peakInUse = _inUse;
        }
    }

    /// <summary>Lets go of up to <paramref name="count"/> free blocks; returns how many.</summary>
    public int Release(int count)
    {
        lock (_lock) return ReleaseLocked(Math.Min(count, _freeCount));
    }

    private int ReleaseLocked(int count)
    {
        if (count <= 0) return 0;
        // The most recently returned go; the arrays become garbage, which the pinned object heap reclaims at the next
        // full collection (MemoryReclaimer forces one when a burst left enough behind).
        Array.Clear(_free, _freeCount - count, count);
        _freeCount -= count;
        if (_lowWater > _freeCount) _lowWater = _freeCount;
        if (_idleLow > _freeCount) _idleLow = _freeCount;
        Interlocked.Add(ref _created, -count);
        return count;
    }

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Block(BlockMemoryPool pool, byte[] array) : MemoryManager<byte>
    {
        public bool Rented;

        public override Span<byte> GetSpan() => array;

        // Pinned at allocation: the address never moves.
        public override unsafe MemoryHandle Pin(int elementIndex = 0)
            => new((byte*)Marshal.UnsafeAddrOfPinnedArrayElement(array, elementIndex), default, this);

        public override void Unpin()
        {
        }

        // Pipelines.Sockets.Unofficial gathers multi-segment sends as array segments.
        protected override bool TryGetArray(out ArraySegment<byte> segment)
        {
            segment = new ArraySegment<byte>(array);
            return true;
        }

        protected override void Dispose(bool disposing) => pool.Return(this);
    }
}
