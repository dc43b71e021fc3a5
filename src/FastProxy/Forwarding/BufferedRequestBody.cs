using System.Buffers;

namespace FastProxy.Forwarding;

/// <summary>
/// A request body held whole before it is forwarded (request_buffering): its data, de-chunked, in segments rented from
/// <see cref="ArrayPool{T}.Shared"/> as it arrives and returned after the exchange (<see cref="Release"/>). Its size is
/// bounded by max_body, which the chunked decoder enforces before a byte is appended. One instance per pooled
/// connection, reused from request to request.
/// </summary>
internal sealed class BufferedRequestBody
{
    /// <summary>Large enough that a body of a few MiB takes a few hundred rents, small enough that a short one wastes little.</summary>
    private const int SegmentSize = 16 * 1024;

    /// <summary>Segment tables longer than this (bodies over 1 MiB) are not kept by an idle connection.</summary>
    private const int KeptSegmentSlots = 64;

    private byte[][] _segments = new byte[4][];
    private int _count;
    /// <summary>Octets used in the last segment.</summary>
    private int _lastLength;

    public long Length { get; private set; }

    public void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_count == 0 || _lastLength == SegmentSize)
            {
                if (_count == _segments.Length) Array.Resize(ref _segments, _segments.Length * 2);
                _segments[_count++] = ArrayPool<byte>.Shared.Rent(SegmentSize);
                _lastLength = 0;
            }
            int n = Math.Min(data.Length, SegmentSize - _lastLength);
            data[..n].CopyTo(_segments[_count - 1].AsSpan(_lastLength));
            _lastLength += n;
            Length += n;
            data = data[n..];
        }
    }

    /// <summary>Writes the whole body into <paramref name="output"/> (not flushed); the body stays, for a retry.</summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        for (int i = 0; i < _count; i++)
        {
            output.Write(_segments[i].AsSpan(0, i == _count - 1 ? _lastLength : SegmentSize));
        }
    }

    /// <summary>
    /// The body as one sequence, for a body policy (<see cref="Policies.Pipeline.IRequestBodyPolicy"/>); valid until
    /// the body changes. The linking nodes are kept with the body and reused.
    /// </summary>
    public ReadOnlySequence<byte> AsSequence()
    {
        if (_count == 0) return default;
        if (_count == 1) return new ReadOnlySequence<byte>(_segments[0], 0, _lastLength);
        if (_nodes is null || _nodes.Length < _count) Array.Resize(ref _nodes, _segments.Length);
        Node? previous = null;
        long running = 0;
        for (int i = 0; i < _count; i++)
        {
            var node = _nodes[i] ??= new Node();
            node.Set(_segments[i].AsMemory(0, i == _count - 1 ? _lastLength : SegmentSize), running);
            previous?.Link(node);
            previous = node;
            running += node.Memory.Length;
        }
        previous!.Link(null);
        return new ReadOnlySequence<byte>(_nodes[0]!, 0, previous, previous.Memory.Length);
    }

    private Node?[]? _nodes;

    private sealed class Node : ReadOnlySequenceSegment<byte>
    {
        public void Set(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void Link(Node? next) => Next = next;
    }

    /// <summary>Gives the segments back to the pool; the instance is empty and ready for the next body.</summary>
    public void Release()
    {
        for (int i = 0; i < _count; i++)
        {
            ArrayPool<byte>.Shared.Return(_segments[i]);
            _segments[i] = null!;
        }
        _count = 0;
        _lastLength = 0;
        Length = 0;
        if (_nodes is not null)
        {
            // The nodes hold the rented arrays: let go of them with the arrays.
            foreach (var node in _nodes) node?.Set(default, 0);
        }
        if (_segments.Length > KeptSegmentSlots)
        {
            _segments = new byte[4][];
            _nodes = null;
        }
    }
}
