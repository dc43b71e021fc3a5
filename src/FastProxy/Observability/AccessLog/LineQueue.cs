namespace FastProxy.Observability.AccessLog;

/// <summary>
/// The bounded queue between the requests and the writer: a fixed ring of slots, each owning a line buffer, so a
/// request formats its line straight into the slot it claimed (no copy, no allocation once every slot has been used
/// once). Many producers, one consumer: D. Vyukov's bounded MPMC queue with per-slot sequence numbers; a slot is
/// claimed with one compare-and-swap, and a full queue refuses at once (the caller drops the line), never waits.
/// </summary>
internal sealed class LineQueue
{
    /// <summary>
    /// One line at most: the constant parts (LineWriter.TailReserve) and up to ~1.2 KiB of text; longer fields are cut.
    /// Slots get their buffer the first time they are used, so memory follows the highest backlog, not the capacity.
    /// </summary>
    public const int SlotSize = 2048;

    private struct Slot
    {
        /// <summary>position: free for the producer of that position; position + 1: holds its line.</summary>
        public long Sequence;
        public byte[]? Buffer;
        public int Length;
    }

    private readonly Slot[] _slots;
    // Producers' and the consumer's positions on separate cache lines: they are written by different threads.
    private PaddedLong _enqueue;
    private long _dequeue;

    public LineQueue(int capacity)
    {
        _slots = new Slot[capacity];
        for (int i = 0; i < capacity; i++) _slots[i].Sequence = i;
    }

    public int Capacity => _slots.Length;

    /// <summary>True when no line is ready for the consumer (one being formatted counts as not ready yet).</summary>
    public bool IsEmpty
    {
        get
        {
            ref var slot = ref _slots[_dequeue % _slots.Length];
            return Volatile.Read(ref slot.Sequence) != _dequeue + 1;
        }
    }

    /// <summary>Claims a slot and formats the line into it; false (nothing written) when the queue is full.</summary>
    public bool TryWrite(scoped in AccessLogEntry entry, IAccessLogFormatter formatter, QueryRedaction redaction)
    {
        long position = Volatile.Read(ref _enqueue.Value);
        while (true)
        {
            ref var slot = ref _slots[position % _slots.Length];
            long sequence = Volatile.Read(ref slot.Sequence);
            long difference = sequence - position;
            if (difference == 0)
            {
                if (Interlocked.CompareExchange(ref _enqueue.Value, position + 1, position) == position)
                {
                    slot.Buffer ??= new byte[SlotSize];
                    slot.Length = formatter.Format(entry, redaction, slot.Buffer);
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }
                position = Volatile.Read(ref _enqueue.Value);
            }
            else if (difference < 0)
            {
                // The slot still holds the line from one lap ago: the consumer is a whole ring behind.
                return false;
            }
            else
            {
                position = Volatile.Read(ref _enqueue.Value);
            }
        }
    }

    /// <summary>Consumer only: the next ready line, or false. <see cref="Release"/> it once copied.</summary>
    public bool TryPeek(out ReadOnlySpan<byte> line)
    {
        ref var slot = ref _slots[_dequeue % _slots.Length];
        if (Volatile.Read(ref slot.Sequence) != _dequeue + 1)
        {
            line = default;
            return false;
        }
        line = slot.Buffer.AsSpan(0, slot.Length);
        return true;
    }

    /// <summary>Consumer only: gives the peeked slot back to the producers (for the position one lap ahead).</summary>
    public void Release()
    {
        ref var slot = ref _slots[_dequeue % _slots.Length];
        Volatile.Write(ref slot.Sequence, _dequeue + _slots.Length);
        _dequeue++;
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
    private struct PaddedLong
    {
        [System.Runtime.InteropServices.FieldOffset(64)] public long Value;
    }
}
