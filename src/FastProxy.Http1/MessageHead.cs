namespace FastProxy.Http1;

public enum HttpVersion : byte
{
    Http10 = 0,
    Http11 = 1,
}

/// <summary>Options carried by the Connection field (RFC 9112 §9.6).</summary>
[Flags]
public enum ConnectionOptions : byte
{
    None = 0,
    Close = 1,
    KeepAlive = 2,
    Upgrade = 4,
}

/// <summary>Size limits a head is parsed under. Enforced while parsing, before anything is stored.</summary>
public readonly record struct HeadLimits(int MaxStartLine, int MaxHeaderBytes, int MaxHeaders)
{
    public static HeadLimits Default { get; } = new(8 * 1024, 32 * 1024, 100);
}

/// <summary>
/// What request and response heads share: the field lines, as offsets into the head's bytes, and the framing
/// facts the forwarder needs. Instances are reused (one per connection): <see cref="Reset"/> before each message.
/// </summary>
public abstract class MessageHead
{
    /// <summary>Empty until the first field is parsed: the array comes from <see cref="FieldArrayPool"/> and goes back with <see cref="ReleaseFields"/>.</summary>
    private HeaderField[] _fields = [];

    public HttpVersion Version { get; internal set; }

    /// <summary>Total bytes of the head, through the empty line that ends it. Valid once parsing completed.</summary>
    public int HeadLength { get; internal set; }

    /// <summary>Declared Content-Length, or -1 when there is none.</summary>
    public long ContentLength { get; internal set; } = -1;

    /// <summary>Transfer-Encoding is exactly "chunked".</summary>
    public bool IsChunked { get; internal set; }

    public ConnectionOptions Connection { get; internal set; }

    /// <summary>Why parsing failed; <see cref="HeadError.None"/> otherwise.</summary>
    public HeadError Error { get; internal set; }

    public int FieldCount { get; private set; }

    public ReadOnlySpan<HeaderField> Fields => _fields.AsSpan(0, FieldCount);

    /// <summary>The index of the first field of this kind, or -1.</summary>
    public int IndexOf(KnownHeader header)
    {
        var fields = Fields;
        for (int i = 0; i < fields.Length; i++)
        {
            if (fields[i].Known == header) return i;
        }
        return -1;
    }

    // Resumable parsing state (see HeadParser): where the next line starts and how far LF has been searched.
    internal int ScanOffset;
    internal int LineStart;
    internal int FieldsStart;
    internal bool InFields;
    internal int LeadingEmptyLines;
    internal int TransferEncodingFields;
    /// <summary>A Connection field names something other than close, keep-alive or upgrade.</summary>
    internal bool NominatesFields;

    public virtual void Reset()
    {
        Version = HttpVersion.Http11;
        HeadLength = 0;
        ContentLength = -1;
        IsChunked = false;
        Connection = ConnectionOptions.None;
        Error = HeadError.None;
        FieldCount = 0;
        ScanOffset = 0;
        LineStart = 0;
        FieldsStart = 0;
        InFields = false;
        LeadingEmptyLines = 0;
        TransferEncodingFields = 0;
        NominatesFields = false;
    }

    /// <summary>
    /// Gives the field array back to the shared pool (and forgets the fields): a head that waits for its next message
    /// holds none. An idle keep-alive connection's two heads held 816 bytes of arrays this way (measured); the next
    /// message's first field takes an array again, from a per-thread cache, without locking or allocating.
    /// </summary>
    public void ReleaseFields()
    {
        FieldCount = 0;
        if (_fields.Length == 0) return;
        FieldArrayPool.Return(_fields);
        _fields = [];
    }

    internal ref HeaderField AddField()
    {
        if (FieldCount == _fields.Length) GrowFields();
        ref HeaderField field = ref _fields[FieldCount++];
        field = default;
        return ref field;
    }

    internal ref HeaderField FieldAt(int index) => ref _fields[index];

    private void GrowFields()
    {
        if (_fields.Length == 0)
        {
            _fields = FieldArrayPool.Rent();
            if (_fields.Length > 0) return;
        }
        // More fields than this array holds: a bigger one, which goes to the pool in its turn (so a client that sends
        // many fields does not allocate on every request); the smaller one goes back now.
        var bigger = new HeaderField[Math.Max(FieldArrayPool.InitialLength, _fields.Length * 2)];
        _fields.AsSpan(0, FieldCount).CopyTo(bigger);
        if (_fields.Length > 0) FieldArrayPool.Return(_fields);
        _fields = bigger;
    }

    /// <summary>True when the connection may carry another message after this one (RFC 9112 §9.3).</summary>
    public bool KeepAlive => Version == HttpVersion.Http11
        ? (Connection & ConnectionOptions.Close) == 0
        : (Connection & ConnectionOptions.KeepAlive) != 0 && (Connection & ConnectionOptions.Close) == 0;
}
