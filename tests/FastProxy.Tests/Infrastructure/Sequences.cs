using System.Buffers;

namespace FastProxy.Tests.Infrastructure;

/// <summary>Multi-segment <see cref="ReadOnlySequence{T}"/>s, for parsers that must work across any segmentation.</summary>
internal static class Sequences
{
    /// <summary>One sequence whose segments are <paramref name="parts"/> (empty parts kept: real pipes can produce them).</summary>
    public static ReadOnlySequence<byte> Of(params byte[][] parts)
    {
        if (parts.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segment(parts[0], 0);
        var last = first;
        foreach (var part in parts.Skip(1)) last = last.Append(part);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>One byte per segment.</summary>
    public static ReadOnlySequence<byte> BytePerSegment(byte[] bytes) => Of([.. bytes.Select(b => new[] { b })]);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] bytes)
        {
            var next = new Segment(bytes, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
