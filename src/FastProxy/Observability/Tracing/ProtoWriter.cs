using System.Buffers.Binary;
using System.Text;

namespace FastProxy.Observability.Tracing;

/// <summary>
/// Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/), written into a span: varints,
/// fixed64/fixed32, length-delimited strings, bytes and nested messages. Just what the OTLP messages need. A nested
/// message reserves the longest length prefix its size allows (<see cref="MaxNestedLength"/>), and its content moves
/// back once its length is known, so a message is written in one pass. The caller sizes the span: writes beyond it throw.
/// </summary>
internal ref struct ProtoWriter
{
    /// <summary>A nested message is at most 2^21 - 1 bytes: its length prefix fits in 3 bytes.</summary>
    public const int MaxNestedLength = (1 << 21) - 1;

    private const int WireVarint = 0, WireFixed64 = 1, WireLength = 2, WireFixed32 = 5;

    private readonly Span<byte> _buffer;
    private int _position;

    public ProtoWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Length => _position;

    public void Varint(int field, ulong value)
    {
        Tag(field, WireVarint);
        RawVarint(value);
    }

    public void Fixed64(int field, ulong value)
    {
        Tag(field, WireFixed64);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[_position..], value);
        _position += 8;
    }

    public void Fixed32(int field, uint value)
    {
        Tag(field, WireFixed32);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer[_position..], value);
        _position += 4;
    }

    public void Bytes(int field, scoped ReadOnlySpan<byte> value)
    {
        Tag(field, WireLength);
        RawVarint((ulong)value.Length);
        value.CopyTo(_buffer[_position..]);
        _position += value.Length;
    }

    /// <summary>An id as OTLP wants it: big-endian bytes (the order of its hex form).</summary>
    public void Id(int field, ulong high, ulong low)
    {
        Tag(field, WireLength);
        RawVarint(16);
        BinaryPrimitives.WriteUInt64BigEndian(_buffer[_position..], high);
        BinaryPrimitives.WriteUInt64BigEndian(_buffer[(_position + 8)..], low);
        _position += 16;
    }

    public void Id(int field, ulong id)
    {
        Tag(field, WireLength);
        RawVarint(8);
        BinaryPrimitives.WriteUInt64BigEndian(_buffer[_position..], id);
        _position += 8;
    }

    public void String(int field, string value)
    {
        Tag(field, WireLength);
        int length = Encoding.UTF8.GetByteCount(value);
        RawVarint((ulong)length);
        _position += Encoding.UTF8.GetBytes(value, _buffer[_position..]);
    }

    /// <summary>Opens a nested message (field <paramref name="field"/>); pass the result to <see cref="End"/> once its fields are written.</summary>
    public int Begin(int field)
    {
        Tag(field, WireLength);
        _position += 3;
        return _position;
    }

    public void End(int contentStart)
    {
        int length = _position - contentStart;
        if (length > MaxNestedLength) throw new InvalidOperationException("nested message too long");
        int prefix = VarintLength((ulong)length);
        int at = contentStart - 3;
        if (prefix < 3)
        {
            _buffer.Slice(contentStart, length).CopyTo(_buffer[(at + prefix)..]);
        }
        int saved = _position;
        _position = at;
        RawVarint((ulong)length);
        _position = saved - (3 - prefix);
    }

    /// <summary>Bytes already encoded elsewhere (whole fields), copied as they are.</summary>
    public void Raw(scoped ReadOnlySpan<byte> encoded)
    {
        encoded.CopyTo(_buffer[_position..]);
        _position += encoded.Length;
    }

    /// <summary>A tag and length prefix for a field whose content follows in <paramref name="length"/> raw bytes.</summary>
    public void LengthPrefix(int field, int length)
    {
        Tag(field, WireLength);
        RawVarint((ulong)length);
    }

    public static int VarintLength(ulong value)
    {
        int n = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            n++;
        }
        return n;
    }

    /// <summary>The bytes of a tag plus length prefix for a length-delimited field of <paramref name="length"/> bytes (fields 1-15).</summary>
    public static int PrefixLength(int length) => 1 + VarintLength((ulong)length);

    private void Tag(int field, int wireType) => RawVarint((ulong)((field << 3) | wireType));

    private void RawVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_position++] = (byte)value;
    }
}
