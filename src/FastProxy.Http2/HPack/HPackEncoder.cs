namespace FastProxy.Http2.HPack;

/// <summary>How a field may be stored in the dynamic tables (RFC 7541 §6.2).</summary>
public enum HPackIndexing : byte
{
    /// <summary>Added to both dynamic tables (§6.2.1): fields that repeat across messages.</summary>
    Incremental,
    /// <summary>Not added (§6.2.2): values that rarely repeat (paths, content-length, dates).</summary>
    Without,
    /// <summary>Not added, and no intermediary may ever add it (§6.2.3, §7.1.3): secrets such as short cookies, authorization.</summary>
    Never,
}

/// <summary>
/// HPACK encoder (RFC 7541). Per field it uses the best representation the tables allow: an index for a whole
/// match (static first, then dynamic), else a literal value with an indexed name (static first), else a literal
/// name. Strings are Huffman-coded unless that is longer (and <see cref="UseHuffman"/> is on). Writes into a span
/// the caller owns; nothing is allocated after construction. Table lookups are linear scans (61 static entries,
/// at most capacity/32 dynamic ones).
/// </summary>
public sealed class HPackEncoder
{
    private readonly HPackDynamicTable _table;
    private int _smallestPendingSize = -1; // smallest table size set since the last block, to signal first (§4.2)
    private int _pendingSize = -1;

    /// <param name="maxTableSize">
    /// The table size both sides start with (RFC 9113: 4,096) and the most this encoder will ever use, whatever the
    /// peer allows: the table costs memory per connection.
    /// </param>
    public HPackEncoder(int maxTableSize = 4096)
    {
        _table = new HPackDynamicTable(maxTableSize);
    }

    public bool UseHuffman { get; set; } = true;

    public HPackDynamicTable DynamicTable => _table;

    /// <summary>
    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed. The table follows it up to this encoder's capacity, and the
    /// change is signalled at the start of the next block (§4.2, §6.3), the smallest size first if it shrank.
    /// </summary>
    public void SetPeerMaxTableSize(uint peerSize)
    {
        int size = (int)Math.Min(peerSize, (uint)_table.Capacity);
        if (size == _table.MaxSize && _pendingSize < 0) return;
        _table.SetMaxSize(size);
        _smallestPendingSize = _smallestPendingSize < 0 ? size : Math.Min(_smallestPendingSize, size);
        _pendingSize = size;
    }

    /// <summary>Starts a field block: writes any pending dynamic table size updates. False if there is no room.</summary>
    public bool BeginBlock(Span<byte> destination, ref int written)
    {
        if (_pendingSize < 0) return true;
        int start = written;
        if (_smallestPendingSize < _pendingSize && !TryWriteInteger(_smallestPendingSize, 5, 0x20, destination, ref written)
            || !TryWriteInteger(_pendingSize, 5, 0x20, destination, ref written))
        {
            written = start;
            return false;
        }
        _smallestPendingSize = _pendingSize = -1;
        return true;
    }

    /// <summary>
    /// Encodes one field at <paramref name="written"/> and advances it. False, with nothing written and the tables
    /// unchanged, if <paramref name="destination"/> has no room; the caller flushes and retries with more.
    /// Names must be lowercase (RFC 9113 §8.2.1); that is the caller's to guarantee.
    /// </summary>
    public bool TryEncode(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HPackIndexing indexing, Span<byte> destination, ref int written)
    {
        int start = written;
        int nameIndex = HPackStaticTable.Find(name, value, out int fullIndex);
        if (indexing != HPackIndexing.Never)
        {
            if (fullIndex == 0)
            {
                int dynamicName = _table.Find(name, value, out int dynamicFull);
                if (dynamicFull != 0) fullIndex = HPackStaticTable.Count + dynamicFull;
                if (nameIndex == 0 && dynamicName != 0) nameIndex = HPackStaticTable.Count + dynamicName;
            }
            if (fullIndex != 0)
            {
                // §6.1: 1 | Index (7+).
                if (TryWriteInteger(fullIndex, 7, 0x80, destination, ref written)) return true;
                written = start;
                return false;
            }
        }
        else if (nameIndex == 0)
        {
            // A never-indexed field may still name a dynamic entry: only the value is secret.
            int dynamicName = _table.Find(name, value, out _);
            if (dynamicName != 0) nameIndex = HPackStaticTable.Count + dynamicName;
        }

        // §6.2.1: 01 | Index (6+); §6.2.2: 0000 | Index (4+); §6.2.3: 0001 | Index (4+). Index 0: a literal name follows.
        bool ok = indexing switch
        {
            HPackIndexing.Incremental => TryWriteInteger(nameIndex, 6, 0x40, destination, ref written),
            HPackIndexing.Without => TryWriteInteger(nameIndex, 4, 0x00, destination, ref written),
            _ => TryWriteInteger(nameIndex, 4, 0x10, destination, ref written),
        };
        ok = ok && (nameIndex != 0 || TryWriteString(name, destination, ref written)) && TryWriteString(value, destination, ref written);
        if (!ok)
        {
            written = start;
            return false;
        }
        if (indexing == HPackIndexing.Incremental) _table.Add(name, value);
        return true;
    }

    private static bool TryWriteInteger(int value, int prefixBits, byte flags, Span<byte> destination, ref int written)
    {
        int n = HPackInteger.Encode(value, prefixBits, flags, destination[written..]);
        if (n < 0) return false;
        written += n;
        return true;
    }

    /// <summary>
    /// §5.2: H (1) | String Length (7+) | octets. Huffman unless it would be longer: at equal length the RFC's
    /// examples pick Huffman (C.6.2 codes "307" in 3 octets either way), and matching them byte for byte is the test.
    /// </summary>
    private bool TryWriteString(ReadOnlySpan<byte> s, Span<byte> destination, ref int written)
    {
        int huffmanLength = UseHuffman ? HuffmanCode.EncodedLength(s) : int.MaxValue;
        if (huffmanLength <= s.Length && s.Length > 0)
        {
            if (!TryWriteInteger(huffmanLength, 7, 0x80, destination, ref written)) return false;
            int n = HuffmanCode.Encode(s, destination[written..]);
            if (n < 0) return false;
            written += n;
            return true;
        }
        if (!TryWriteInteger(s.Length, 7, 0x00, destination, ref written)) return false;
        if (destination.Length - written < s.Length) return false;
        s.CopyTo(destination[written..]);
        written += s.Length;
        return true;
    }
}
