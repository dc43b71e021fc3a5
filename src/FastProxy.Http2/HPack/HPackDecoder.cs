using System.Buffers;

namespace FastProxy.Http2.HPack;

public enum HPackError : byte
{
    None = 0,
    /// <summary>Index 0, or past the static and dynamic tables (§2.3.3, §6.1).</summary>
    BadIndex,
    /// <summary>An integer past int.MaxValue or with more than 5 continuation octets (§5.1).</summary>
    IntegerOverflow,
    /// <summary>A string longer than the decoder's buffer (the header list limit).</summary>
    StringTooLong,
    /// <summary>The decoded header list is over the limit: name + value + 32 per field (RFC 9113 §6.5.2); the HPACK bomb defence.</summary>
    HeaderListTooLarge,
    /// <summary>Huffman data that codes EOS, or padding over 7 bits or not all ones (§5.2).</summary>
    BadHuffman,
    /// <summary>A dynamic table size update over SETTINGS_HEADER_TABLE_SIZE (§6.3).</summary>
    TableSizeUpdateTooLarge,
    /// <summary>A dynamic table size update after the first field of a block (§4.2).</summary>
    TableSizeUpdateNotAtStart,
    /// <summary>The block ended inside a field representation.</summary>
    TruncatedBlock,
}

/// <summary>Receives the decoded fields of a block; a struct implementation is called without boxing or virtual dispatch.</summary>
public interface IHPackHeaderHandler
{
    /// <param name="neverIndexed">Sent as "never indexed" (§6.2.3): an intermediary must re-encode it the same way.</param>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed);
}

/// <summary>
/// HPACK decoder (RFC 7541), an explicit state machine that stops and resumes at any octet, so a field block can
/// be fed as it comes: split over HEADERS and CONTINUATION frames and over receive segments in any way. It keeps
/// no reference to the input: literal strings are copied (or Huffman-decoded) into its one buffer, whose size is
/// the header list limit, so nothing is allocated after construction. Fields reach the handler as spans valid
/// only during the call.
/// Limits: every field counts name + value + 32 octets against <c>maxHeaderListSize</c> (a few bytes that index a
/// large dynamic entry many times cannot blow up: HPACK bomb), strings must fit that limit too, and the peer may
/// resize the dynamic table only up to our SETTINGS_HEADER_TABLE_SIZE. Any error is final for the decoder, since
/// the dynamic table can no longer be trusted: a connection error COMPRESSION_ERROR (RFC 9113 §4.3).
/// </summary>
public sealed class HPackDecoder
{
    private enum State : byte
    {
        /// <summary>At the start of a field representation or size update.</summary>
        Ready,
        /// <summary>In the continuation octets of an integer; <see cref="_integerFor"/> says what it is.</summary>
        Integer,
        /// <summary>Expecting the first octet of a string: H bit and the length's 7-bit prefix.</summary>
        StringStart,
        /// <summary>Reading a string's octets.</summary>
        StringData,
        Failed,
    }

    private enum IntegerFor : byte
    {
        Index,
        NameIndex,
        TableSizeUpdate,
        StringLength,
    }

    private enum Representation : byte
    {
        Indexed,
        IncrementalIndexing,
        WithoutIndexing,
        NeverIndexed,
    }

    private readonly HPackDynamicTable _table;
    private readonly byte[] _buffer;
    private readonly int _maxHeaderListSize;

    private State _state;
    private IntegerFor _integerFor;
    private Representation _representation;
    private HPackIntegerDecoder _integer;
    private bool _fieldSeen;      // a field representation has started in this block: size updates are over (§4.2)
    private bool _readingValue;   // the string being read is the value (the name is in the buffer)
    private bool _huffman;
    private byte _huffmanState;
    private int _stringRemaining; // encoded octets of the current string still to come
    private int _nameLength;      // the name occupies _buffer[0.._nameLength)
    private int _written;         // octets of _buffer in use
    private int _headerListSize;

    /// <param name="maxTableSize">Our SETTINGS_HEADER_TABLE_SIZE: the most the peer's encoder may use (default 4,096).</param>
    /// <param name="maxHeaderListSize">Our SETTINGS_MAX_HEADER_LIST_SIZE, enforced: the most one block may decode to.</param>
    public HPackDecoder(int maxTableSize, int maxHeaderListSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHeaderListSize, 64);
        _table = new HPackDynamicTable(maxTableSize);
        _buffer = new byte[maxHeaderListSize];
        _maxHeaderListSize = maxHeaderListSize;
    }

    public HPackDynamicTable DynamicTable => _table;

    public HPackError Error { get; private set; }

    /// <summary>Decodes the next part of a field block. Pass <paramref name="endOfBlock"/> with the part that ends it (END_HEADERS).</summary>
    public HPackError Decode<THandler>(in ReadOnlySequence<byte> data, bool endOfBlock, ref THandler handler)
        where THandler : IHPackHeaderHandler, allows ref struct
    {
        if (Error != HPackError.None) return Error;
        foreach (ReadOnlyMemory<byte> segment in data)
        {
            if (DecodeSpan(segment.Span, ref handler) != HPackError.None) return Error;
        }
        return endOfBlock ? EndBlock() : Error;
    }

    /// <inheritdoc cref="Decode{THandler}(in ReadOnlySequence{byte}, bool, ref THandler)"/>
    public HPackError Decode<THandler>(ReadOnlySpan<byte> data, bool endOfBlock, ref THandler handler)
        where THandler : IHPackHeaderHandler, allows ref struct
    {
        if (Error != HPackError.None) return Error;
        if (DecodeSpan(data, ref handler) != HPackError.None) return Error;
        return endOfBlock ? EndBlock() : Error;
    }

    private HPackError EndBlock()
    {
        if (_state != State.Ready) return Fail(HPackError.TruncatedBlock);
        _fieldSeen = false;
        _headerListSize = 0;
        return HPackError.None;
    }

    private HPackError Fail(HPackError error)
    {
        _state = State.Failed;
        Error = error;
        return error;
    }

    private HPackError DecodeSpan<THandler>(ReadOnlySpan<byte> input, ref THandler handler)
        where THandler : IHPackHeaderHandler, allows ref struct
    {
        int i = 0;
        while (i < input.Length)
        {
            int value;
            switch (_state)
            {
                case State.Ready:
                {
                    byte b = input[i++];
                    bool complete;
                    if ((b & 0x80) != 0)
                    {
                        // §6.1 Indexed Header Field: 1 | Index (7+).
                        _representation = Representation.Indexed;
                        _integerFor = IntegerFor.Index;
                        complete = _integer.Start(b, 7, out value);
                    }
                    else if ((b & 0x40) != 0)
                    {
                        // §6.2.1 Literal with Incremental Indexing: 01 | Index (6+), 0 for a literal name.
                        _representation = Representation.IncrementalIndexing;
                        _integerFor = IntegerFor.NameIndex;
                        complete = _integer.Start(b, 6, out value);
                    }
                    else if ((b & 0x20) != 0)
                    {
                        // §6.3 Dynamic Table Size Update: 001 | Max Size (5+).
                        _integerFor = IntegerFor.TableSizeUpdate;
                        complete = _integer.Start(b, 5, out value);
                    }
                    else
                    {
                        // §6.2.2 Without Indexing: 0000 | Index (4+); §6.2.3 Never Indexed: 0001 | Index (4+).
                        _representation = (b & 0x10) != 0 ? Representation.NeverIndexed : Representation.WithoutIndexing;
                        _integerFor = IntegerFor.NameIndex;
                        complete = _integer.Start(b, 4, out value);
                    }
                    if (_integerFor != IntegerFor.TableSizeUpdate) _fieldSeen = true;
                    if (!complete)
                    {
                        _state = State.Integer;
                        break;
                    }
                    if (OnInteger(value, ref handler) != HPackError.None) return Error;
                    break;
                }
                case State.Integer:
                {
                    if (!_integer.Next(input[i++], out value, out bool overflow))
                    {
                        if (overflow) return Fail(HPackError.IntegerOverflow);
                        break;
                    }
                    if (OnInteger(value, ref handler) != HPackError.None) return Error;
                    break;
                }
                case State.StringStart:
                {
                    // §5.2: H (1) | String Length (7+).
                    byte b = input[i++];
                    _huffman = (b & 0x80) != 0;
                    _integerFor = IntegerFor.StringLength;
                    if (!_integer.Start(b, 7, out value))
                    {
                        _state = State.Integer;
                        break;
                    }
                    if (OnInteger(value, ref handler) != HPackError.None) return Error;
                    break;
                }
                case State.StringData:
                {
                    int n = Math.Min(_stringRemaining, input.Length - i);
                    ReadOnlySpan<byte> chunk = input.Slice(i, n);
                    i += n;
                    _stringRemaining -= n;
                    if (_huffman)
                    {
                        var status = HuffmanCode.Decode(chunk, ref _huffmanState, _buffer, ref _written);
                        if (status == HuffmanStatus.Invalid) return Fail(HPackError.BadHuffman);
                        if (status == HuffmanStatus.TooLong) return Fail(HPackError.StringTooLong);
                    }
                    else
                    {
                        chunk.CopyTo(_buffer.AsSpan(_written));
                        _written += n;
                    }
                    if (_stringRemaining == 0 && OnStringEnd(ref handler) != HPackError.None) return Error;
                    break;
                }
                default:
                    return Error;
            }
        }
        return Error;
    }

    private HPackError OnInteger<THandler>(int value, ref THandler handler)
        where THandler : IHPackHeaderHandler, allows ref struct
    {
        switch (_integerFor)
        {
            case IntegerFor.Index:
            {
                if (!TryGetEntry(value, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> fieldValue)) return Fail(HPackError.BadIndex);
                if (Count(name.Length, fieldValue.Length) != HPackError.None) return Error;
                _state = State.Ready;
                handler.OnHeader(name, fieldValue, neverIndexed: false);
                return HPackError.None;
            }
            case IntegerFor.NameIndex:
            {
                _written = 0;
                _readingValue = false;
                if (value != 0)
                {
                    // The name is copied out: adding this field may evict the very entry it names (§4.4).
                    if (!TryGetEntry(value, out ReadOnlySpan<byte> name, out _)) return Fail(HPackError.BadIndex);
                    name.CopyTo(_buffer);
                    _written = _nameLength = name.Length;
                    _readingValue = true;
                }
                _state = State.StringStart;
                return HPackError.None;
            }
            case IntegerFor.TableSizeUpdate:
            {
                if (_fieldSeen) return Fail(HPackError.TableSizeUpdateNotAtStart);
                if (value > _table.Capacity) return Fail(HPackError.TableSizeUpdateTooLarge);
                _table.SetMaxSize(value);
                _state = State.Ready;
                return HPackError.None;
            }
            default: // StringLength
            {
                // Refuse before reading: a raw string must fit the buffer; a Huffman one decodes to at least one
                // octet per 30 bits (the longest code), so one 4x longer than the room left cannot fit either.
                long room = _buffer.Length - _written;
                if (value > (_huffman ? room * 4 : room)) return Fail(HPackError.StringTooLong);
                _stringRemaining = value;
                _huffmanState = 0;
                _state = State.StringData;
                return value == 0 ? OnStringEnd(ref handler) : HPackError.None;
            }
        }
    }

    private HPackError OnStringEnd<THandler>(ref THandler handler)
        where THandler : IHPackHeaderHandler, allows ref struct
    {
        if (_huffman && !HuffmanCode.IsValidEnd(_huffmanState)) return Fail(HPackError.BadHuffman);
        if (!_readingValue)
        {
            _nameLength = _written;
            _readingValue = true;
            _state = State.StringStart;
            return HPackError.None;
        }
        ReadOnlySpan<byte> name = _buffer.AsSpan(0, _nameLength);
        ReadOnlySpan<byte> value = _buffer.AsSpan(_nameLength, _written - _nameLength);
        if (Count(name.Length, value.Length) != HPackError.None) return Error;
        _state = State.Ready;
        handler.OnHeader(name, value, _representation == Representation.NeverIndexed);
        if (_representation == Representation.IncrementalIndexing) _table.Add(name, value);
        _written = 0;
        return HPackError.None;
    }

    private HPackError Count(int nameLength, int valueLength)
    {
        _headerListSize += nameLength + valueLength + HPackDynamicTable.EntryOverhead;
        return _headerListSize > _maxHeaderListSize ? Fail(HPackError.HeaderListTooLarge) : HPackError.None;
    }

    private bool TryGetEntry(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (index >= 1 && index <= HPackStaticTable.Count)
        {
            name = HPackStaticTable.Name(index);
            value = HPackStaticTable.Value(index);
            return true;
        }
        int dynamicIndex = index - HPackStaticTable.Count;
        if (index > HPackStaticTable.Count && dynamicIndex <= _table.Count)
        {
            name = _table.Name(dynamicIndex);
            value = _table.Value(dynamicIndex);
            return true;
        }
        name = value = default;
        return false;
    }
}
