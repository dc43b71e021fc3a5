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
    private HeaderField[] _fields = new HeaderField[16];

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

    internal ref HeaderField AddField()
    {
        if (FieldCount == _fields.Length) Array.Resize(ref _fields, _fields.Length * 2);
        ref HeaderField field = ref _fields[FieldCount++];
        field = default;
        return ref field;
    }

    internal ref HeaderField FieldAt(int index) => ref _fields[index];

    /// <summary>True when the connection may carry another message after this one (RFC 9112 §9.3).</summary>
    public bool KeepAlive => Version == HttpVersion.Http11
        ? (Connection & ConnectionOptions.Close) == 0
        : (Connection & ConnectionOptions.KeepAlive) != 0 && (Connection & ConnectionOptions.Close) == 0;
}
