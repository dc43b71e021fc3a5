namespace FastProxy.Http2.HPack;

/// <summary>
/// The dynamic table (RFC 7541 §2.3.2, §4): first in, first out, newest at index 1 (62 on the wire). An entry's
/// size is its name and value octets plus 32 (§4.1); adding evicts from the oldest end until the new entry fits,
/// and an entry larger than the whole table empties it (§4.4).
/// Allocation-free after construction: names and values live in one byte arena, appended at its end and evicted
/// from its start, so live bytes are always one run; when the end is reached the run is moved back to the start.
/// The arena is twice the capacity, so a move happens at most once per capacity's worth of added bytes.
/// </summary>
public sealed class HPackDynamicTable
{
    private struct Entry
    {
        public int Offset;
        public int NameLength;
        public int ValueLength;
    }

    /// <summary>RFC 7541 §4.1: the 32 octets an entry counts beyond its name and value.</summary>
    public const int EntryOverhead = 32;

    private readonly byte[] _arena;
    private readonly Entry[] _entries; // ring: _first is the oldest
    private int _first;
    private int _count;
    private int _tail; // arena offset where the next entry's bytes go

    public HPackDynamicTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Capacity = capacity;
        MaxSize = capacity;
        _arena = new byte[Math.Max(2 * capacity, 64)];
        _entries = new Entry[capacity / EntryOverhead + 1];
    }

    /// <summary>The most <see cref="MaxSize"/> may ever be: fixed at construction.</summary>
    public int Capacity { get; }

    /// <summary>The current maximum size (set by dynamic table size updates, §6.3).</summary>
    public int MaxSize { get; private set; }

    /// <summary>Sum of the entries' sizes (§4.1).</summary>
    public int Size { get; private set; }

    public int Count => _count;

    /// <summary>Entry <paramref name="index"/>, 1 being the newest.</summary>
    public ReadOnlySpan<byte> Name(int index)
    {
        ref Entry e = ref At(index);
        return _arena.AsSpan(e.Offset, e.NameLength);
    }

    public ReadOnlySpan<byte> Value(int index)
    {
        ref Entry e = ref At(index);
        return _arena.AsSpan(e.Offset + e.NameLength, e.ValueLength);
    }

    private ref Entry At(int index)
    {
        if ((uint)(index - 1) >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(index));
        return ref _entries[(_first + _count - index) % _entries.Length];
    }

    /// <summary>Sets the maximum size, evicting oldest entries until the table fits (§4.3).</summary>
    public void SetMaxSize(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxSize, Capacity);
        MaxSize = maxSize;
        EvictTo(maxSize);
    }

    /// <summary>Adds an entry (§4.4). <paramref name="name"/> and <paramref name="value"/> must not point into this table.</summary>
    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        long size = (long)name.Length + value.Length + EntryOverhead;
        if (size > MaxSize)
        {
            EvictTo(0);
            return;
        }
        EvictTo(MaxSize - (int)size);

        int length = name.Length + value.Length;
        if (_tail + length > _arena.Length) Compact();

        var entry = new Entry { Offset = _tail, NameLength = name.Length, ValueLength = value.Length };
        name.CopyTo(_arena.AsSpan(_tail));
        value.CopyTo(_arena.AsSpan(_tail + name.Length));
        _tail += length;
        _entries[(_first + _count) % _entries.Length] = entry;
        _count++;
        Size += (int)size;
    }

    private void EvictTo(int size)
    {
        while (Size > size)
        {
            ref Entry oldest = ref _entries[_first];
            Size -= oldest.NameLength + oldest.ValueLength + EntryOverhead;
            _first = (_first + 1) % _entries.Length;
            _count--;
        }
        if (_count == 0) _tail = 0;
    }

    /// <summary>Moves the live bytes (one run, oldest entry first) to the start of the arena.</summary>
    private void Compact()
    {
        if (_count == 0)
        {
            _tail = 0;
            return;
        }
        int start = _entries[_first].Offset;
        _arena.AsSpan(start, _tail - start).CopyTo(_arena);
        for (int i = 0; i < _count; i++) _entries[(_first + i) % _entries.Length].Offset -= start;
        _tail -= start;
    }

    public void Clear() => EvictTo(0);

    /// <summary>
    /// For the encoder: the newest entry equal to name and value (<paramref name="fullMatch"/>, 0 if none), and the
    /// newest with this name (returned, 0 if none), as dynamic indexes (1 = newest).
    /// </summary>
    public int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out int fullMatch)
    {
        fullMatch = 0;
        int nameMatch = 0;
        for (int i = 1; i <= _count; i++)
        {
            ref Entry e = ref At(i);
            if (!name.SequenceEqual(_arena.AsSpan(e.Offset, e.NameLength))) continue;
            if (nameMatch == 0) nameMatch = i;
            if (value.SequenceEqual(_arena.AsSpan(e.Offset + e.NameLength, e.ValueLength)))
            {
                fullMatch = i;
                return nameMatch;
            }
        }
        return nameMatch;
    }
}
