using System.Buffers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// A growable buffer rented from <see cref="ArrayPool{T}.Shared"/>, for bodies a policy reads or writes whole
/// (json_body). <see cref="Release"/> gives the memory back; the instance can be kept and used again.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>
{
    private byte[] _buffer = [];
    private int _written;

    public int WrittenCount => _written;
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_buffer.Length - _written)) throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        Ensure(data.Length);
        data.CopyTo(_buffer.AsSpan(_written));
        _written += data.Length;
    }

    /// <summary>Empties the buffer and keeps its memory for the next use (a buffer grown past <paramref name="keepAtMost"/> bytes is returned to the pool).</summary>
    public void Clear(int keepAtMost = 1024 * 1024)
    {
        _written = 0;
        if (_buffer.Length > keepAtMost) Release();
    }

    /// <summary>Empties the buffer and returns its memory to the pool.</summary>
    public void Release()
    {
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _written = 0;
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_buffer.Length - _written >= sizeHint) return;
        int wanted = checked(Math.Max(_written + sizeHint, Math.Max(_buffer.Length * 2, 4096)));
        var larger = ArrayPool<byte>.Shared.Rent(wanted);
        _buffer.AsSpan(0, _written).CopyTo(larger);
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
