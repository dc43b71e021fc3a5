using System.Buffers;
using System.Runtime.InteropServices;

namespace FastProxy.Transport;

/// <summary>
/// A pool of fixed-size, pinned buffers for the pipes, that grows to the peak number in use and gives back what
/// stays unused, slowly. Renting and returning allocate nothing: a block is its own <see cref="IMemoryOwner{T}"/>.
/// </summary>
/// <remarks>
/// Why not <c>ArrayPool&lt;byte&gt;.Shared</c> (the pipes' default): it keeps a few dozen arrays per size per core and
/// drops the rest on return. A proxy holds one receive buffer per request in flight (the request stays buffered
/// until the response head arrives, so that a stale pooled connection can be retried); with 64 connections that
/// outgrew the shared pool, and every few requests allocated a fresh buffer (measured: ~6 KB per request under
/// wrk -c64, none with one connection). Blocks are pinned (on the pinned object heap), so socket operations need
/// not pin them each time. Requests larger than a block go to the array pool (the pipe does that itself).
/// </remarks>
internal sealed class BlockMemoryPool : MemoryPool<byte>
{
    private readonly Lock _lock = new();
    private Block[] _free = new Block[64];
    private int _freeCount;
    /// <summary>Fewest free blocks seen since the last trim: that many were not needed in the last period.</summary>
    private int _lowWater;
    private int _created;

    public BlockMemoryPool(int blockSize) => BlockSize = blockSize;

    public int BlockSize { get; }

    public override int MaxBufferSize => BlockSize;

    /// <summary>Blocks in existence (in use and free), for tests and diagnostics.</summary>
    public int Created => Volatile.Read(ref _created);

    public int Free => Volatile.Read(ref _freeCount);

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize) throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize, $"blocks are {BlockSize} bytes");
        lock (_lock)
        {
            if (_freeCount > 0)
            {
                var block = _free[--_freeCount];
                _free[_freeCount] = null!;
                if (_freeCount < _lowWater) _lowWater = _freeCount;
                block.Rented = true;
                return block;
            }
            _lowWater = 0;
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
            if (_freeCount == _free.Length) Array.Resize(ref _free, _free.Length * 2);
            _free[_freeCount++] = block;
        }
    }

    /// <summary>
    /// Lets go of half the blocks that stayed free for a whole period (called every few seconds by the host):
    /// after a burst the pool shrinks over a minute or so instead of keeping its peak for ever.
    /// </summary>
    public int Trim()
    {
        Block[] released;
        lock (_lock)
        {
            int surplus = _lowWater / 2;
            if (surplus == 0)
            {
                _lowWater = _freeCount;
                return 0;
            }
            released = _free[(_freeCount - surplus).._freeCount];
            Array.Clear(_free, _freeCount - surplus, surplus);
            _freeCount -= surplus;
            _lowWater = _freeCount;
        }
        Interlocked.Add(ref _created, -released.Length);
        // The arrays are now garbage; the pinned object heap reclaims them at the next full collection.
        return released.Length;
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
