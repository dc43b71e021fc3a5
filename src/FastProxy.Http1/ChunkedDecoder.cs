using System.Buffers;
using static FastProxy.Http1.HttpChars;

namespace FastProxy.Http1;

public enum ChunkedError : byte
{
    None = 0,
    InvalidChunkSize,
    ChunkSizeOverflow,
    InvalidChunkExtension,
    ChunkExtensionTooLong,
    /// <summary>A chunk's data was not followed by CRLF: it was longer or shorter than its size said.</summary>
    ChunkDataLengthMismatch,
    BareLineFeed,
    BareCarriageReturn,
    InvalidTrailer,
    TrailerTooLarge,
    BodyTooLarge,
    /// <summary>More field lines in the trailer section than the limit (as max_headers for a head).</summary>
    TooManyTrailerFields,
}

/// <summary>What the bytes consumed by one <see cref="ChunkedDecoder.Next"/> call were.</summary>
public enum ChunkedStep : byte
{
    /// <summary>Chunk-size lines, CRLFs, extensions, the last chunk and the empty line that ends the body: framing, validated.</summary>
    Framing = 0,
    /// <summary>Payload bytes of a chunk.</summary>
    Data,
    /// <summary>The last chunk and the trailer section are complete; nothing was consumed past the end.</summary>
    Done,
    Error,
    /// <summary>
    /// Trailer field lines (RFC 9112 §7.1.2), validated, each "name:" OWS value OWS CRLF: whole lines when the input
    /// holds them, else the part that arrived (the rest comes as more Trailer steps). A caller that keeps these bytes
    /// has the trailer section, readable with <see cref="TrailerFields"/>; the empty line after them is Framing.
    /// </summary>
    Trailer,
}

/// <summary>
/// What a caller does with the bytes of each step of <see cref="ChunkedDecoder.Decode"/> (a struct, so that the call is
/// specialised and inlined: the per-step action is the only difference between the body loops that decode).
/// </summary>
public interface IChunkSink
{
    /// <summary>The bytes one <see cref="ChunkedDecoder.Next"/> call consumed, and what they were (never Error).</summary>
    void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes);
}

/// <summary>A sink that keeps nothing: <see cref="ChunkedDecoder.Decode"/> then only validates and measures the body.</summary>
public readonly struct ValidateChunks : IChunkSink
{
    public void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes) { }
}

/// <summary>
/// Validating decoder for the chunked transfer coding (RFC 9112 §7.1), an explicit state machine that can stop
/// and resume at any byte, so the body can be forwarded as it arrives in segments of any size. It never copies:
/// it tells the caller how many bytes were framing and how many were data, and the caller forwards them
/// (as they are, or only the data when de-chunking for an HTTP/1.0 client).
/// Stricter than the RFC on purpose: no whitespace in chunk lines, no bare CR or LF anywhere in the framing.
/// </summary>
public struct ChunkedDecoder
{
    /// <summary>Longest accepted run of chunk extensions on one chunk line; extensions are otherwise a free memory sink.</summary>
    public const int MaxExtensionBytes = 4096;

    /// <summary>16 hex digits hold any size below 2^63; more (after leading zeros) can only overflow.</summary>
    private const int MaxSizeDigits = 16;

    private enum State : byte
    {
        SizeStart,
        Size,
        ExtensionName,
        ExtensionNameMore,
        ExtensionValueStart,
        ExtensionToken,
        ExtensionQuoted,
        ExtensionQuotedEscape,
        ExtensionQuotedEnd,
        SizeLineFeed,
        Data,
        DataCarriageReturn,
        DataLineFeed,
        TrailerLineStart,
        TrailerName,
        TrailerValue,
        TrailerLineFeed,
        EndLineFeed,
        Done,
        Failed,
    }

    private State _state;
    private long _chunkSize;
    private long _remaining;
    private long _total;
    private int _sizeDigits;
    private int _extensionBytes;
    private int _trailerBytes;
    private int _trailerFields;
    private readonly long _maxBody;
    private readonly int _maxTrailerBytes;
    private readonly int _maxTrailerFields;

    /// <param name="maxBody">Most payload bytes accepted in all (0: unlimited).</param>
    /// <param name="maxTrailerBytes">Most bytes in the trailer section (as max_header_bytes for a head).</param>
    /// <param name="maxTrailerFields">Most field lines in the trailer section (as max_headers for a head).</param>
    public ChunkedDecoder(long maxBody, int maxTrailerBytes, int maxTrailerFields)
    {
        _maxBody = maxBody;
        _maxTrailerBytes = maxTrailerBytes;
        _maxTrailerFields = maxTrailerFields;
        _state = State.SizeStart;
    }

    public readonly bool IsDone => _state == State.Done;

    public ChunkedError Error { get; private set; }

    /// <summary>Payload bytes declared by the chunk sizes read so far.</summary>
    public readonly long TotalDataBytes => _total;

    /// <summary>
    /// Runs <see cref="Next"/> over <paramref name="buffer"/> from its start, handing each step's bytes to
    /// <paramref name="sink"/>, up to the end of the body (<see cref="ChunkedStep.Done"/>: what follows is the next
    /// message's), an error (<see cref="ChunkedStep.Error"/>: the bad bytes are not handed over) or the end of the buffer
    /// (<see cref="ChunkedStep.Framing"/>: more is needed). <paramref name="consumed"/>: the bytes handed over.
    /// </summary>
    public ChunkedStep Decode<TSink>(in ReadOnlySequence<byte> buffer, ref TSink sink, out long consumed) where TSink : struct, IChunkSink
    {
        consumed = 0;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var step = Next(span, out int n);
                if (step == ChunkedStep.Error) return step;
                sink.OnChunk(step, span[..n]);
                consumed += n;
                if (step == ChunkedStep.Done) return step;
                span = span[n..];
            }
        }
        return ChunkedStep.Framing;
    }

    /// <summary>
    /// Consumes a prefix of <paramref name="input"/> of one kind. Call repeatedly; when <paramref name="consumed"/>
    /// is the whole input, wait for more. After <see cref="ChunkedStep.Done"/> the remaining input belongs to the
    /// next message.
    /// </summary>
    public ChunkedStep Next(ReadOnlySpan<byte> input, out int consumed)
    {
        consumed = 0;
        if (_state == State.Done) return ChunkedStep.Done;
        if (_state == State.Failed) return ChunkedStep.Error;

        if (_state == State.Data)
        {
            int take = (int)Math.Min(_remaining, input.Length);
            _remaining -= take;
            consumed = take;
            if (_remaining == 0) _state = State.DataCarriageReturn;
            return ChunkedStep.Data;
        }

        int i = 0;
        for (; i < input.Length; i++)
        {
            byte b = input[i];
            switch (_state)
            {
                case State.SizeStart:
                    if (!TryAddHexDigit(b)) return Fail(b == LF ? ChunkedError.BareLineFeed : ChunkedError.InvalidChunkSize, i, out consumed);
                    if (_state == State.Failed) { consumed = i; return ChunkedStep.Error; }
                    _state = State.Size;
                    break;

                case State.Size:
                    if (b == CR || b == Semicolon)
                    {
                        if (!CountDeclaredSize()) return Fail(ChunkedError.BodyTooLarge, i, out consumed);
                        if (b == CR) { _state = State.SizeLineFeed; break; }
                        _extensionBytes = 1;
                        _state = State.ExtensionName;
                        break;
                    }
                    if (!TryAddHexDigit(b)) return Fail(b == LF ? ChunkedError.BareLineFeed : ChunkedError.InvalidChunkSize, i, out consumed);
                    if (_state == State.Failed) { consumed = i; return ChunkedStep.Error; }
                    break;

                // chunk-ext = *( ";" ext-name [ "=" ext-val ] ), ext-val = token / quoted-string (RFC 9112 §7.1.1).
                case State.ExtensionName:
                    if (!CountExtensionByte(i, out consumed)) return ChunkedStep.Error;
                    if (!Token.Contains(b)) return Fail(ChunkedError.InvalidChunkExtension, i, out consumed);
                    _state = State.ExtensionNameMore;
                    break;

                case State.ExtensionNameMore:
                    if (b == CR) { _state = State.SizeLineFeed; break; }
                    if (!CountExtensionByte(i, out consumed)) return ChunkedStep.Error;
                    if (b == Semicolon) { _state = State.ExtensionName; break; }
                    if (b == EqualsSign) { _state = State.ExtensionValueStart; break; }
                    if (!Token.Contains(b)) return Fail(ChunkedError.InvalidChunkExtension, i, out consumed);
                    break;

                case State.ExtensionValueStart:
                    if (!CountExtensionByte(i, out consumed)) return ChunkedStep.Error;
                    if (b == DQuote) { _state = State.ExtensionQuoted; break; }
                    if (!Token.Contains(b)) return Fail(ChunkedError.InvalidChunkExtension, i, out consumed);
                    _state = State.ExtensionToken;
                    break;

                case State.ExtensionToken:
                    if (b == CR) { _state = State.SizeLineFeed; break; }
                    if (!CountExtensionByte(i, out consumed)) return ChunkedStep.Error;
                    if (b == Semicolon) { _state = State.ExtensionName; break; }
                    if (!Token.Contains(b)) return Fail(ChunkedError.InvalidChunkExtension, i, out consumed);
                    break;

                case State.ExtensionQuoted:
                    if (!CountExtensionByte(i, out consumed)) return ChunkedStep.Error;
                    if (b == DQuote) { _state = State.ExtensionQuotedEnd; break; }
                    if (b == Backslash) { _state = State.ExtensionQuotedEscape; break; }
                    if (!QdText.Contains(b)) return Fail(ChunkedError.InvalidChunkExtension, i, out consumed);
                    break;

                case State.ExtensionQuotedEscape:
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    if (!CountExtensionByte(i, out consumed)) return ChunkedStep.Error;
                    if (b != HTAB && (b < 0x20 || b == 0x7F)) return Fail(ChunkedError.InvalidChunkExtension, i, out consumed);
                    _state = State.ExtensionQuoted;
                    break;

                case State.ExtensionQuotedEnd:
                    if (b == CR) { _state = State.SizeLineFeed; break; }
                    if (!CountExtensionByte(i, out consumed)) return ChunkedStep.Error;
                    if (b == Semicolon) { _state = State.ExtensionName; break; }
                    return Fail(ChunkedError.InvalidChunkExtension, i, out consumed);

                case State.SizeLineFeed:
                    if (b != LF) return Fail(ChunkedError.BareCarriageReturn, i, out consumed);
                    if (_chunkSize == 0)
                    {
                        _trailerBytes = 0;
                        _trailerFields = 0;
                        _state = State.TrailerLineStart;
                        break;
                    }
                    _remaining = _chunkSize;
                    _state = State.Data;
                    consumed = i + 1;
                    return ChunkedStep.Framing;

                case State.DataCarriageReturn:
                    if (b != CR) return Fail(ChunkedError.ChunkDataLengthMismatch, i, out consumed);
                    _state = State.DataLineFeed;
                    break;

                case State.DataLineFeed:
                    if (b != LF) return Fail(ChunkedError.ChunkDataLengthMismatch, i, out consumed);
                    _chunkSize = 0;
                    _sizeDigits = 0;
                    _state = State.SizeStart;
                    break;

                // trailer-section = *( field-line CRLF ) CRLF (RFC 9112 §7.1.2). Field lines are their own steps
                // (NextTrailer), so the framing before them ends here; the final CRLF is framing.
                case State.TrailerLineStart:
                    if (b == CR) { _state = State.EndLineFeed; break; }
                    if (i > 0) { consumed = i; return ChunkedStep.Framing; }
                    return NextTrailer(input, out consumed);

                case State.TrailerName:
                case State.TrailerValue:
                case State.TrailerLineFeed:
                    // Only at the start of a call (i == 0): the loop never enters these states, NextTrailer does.
                    return NextTrailer(input, out consumed);

                case State.EndLineFeed:
                    if (b != LF) return Fail(ChunkedError.BareCarriageReturn, i, out consumed);
                    _state = State.Done;
                    consumed = i + 1;
                    return ChunkedStep.Done;
            }
        }
        consumed = i;
        return ChunkedStep.Framing;
    }

    /// <summary>
    /// Trailer field lines, from the start of <paramref name="input"/> up to the empty line that ends the section
    /// (not consumed) or the end of the input: one <see cref="ChunkedStep.Trailer"/> step. Off the path of a body
    /// without trailers, which never comes here.
    /// </summary>
    private ChunkedStep NextTrailer(ReadOnlySpan<byte> input, out int consumed)
    {
        int i = 0;
        for (; i < input.Length; i++)
        {
            byte b = input[i];
            switch (_state)
            {
                case State.TrailerLineStart:
                    // Not at i == 0: a call starts here only with a field line's first byte (see Next).
                    if (b == CR) { consumed = i; return ChunkedStep.Trailer; }
                    if (!CountTrailerByte(i, out consumed)) return ChunkedStep.Error;
                    if (!Token.Contains(b)) return Fail(ChunkedError.InvalidTrailer, i, out consumed);
                    if (++_trailerFields > _maxTrailerFields) return Fail(ChunkedError.TooManyTrailerFields, i, out consumed);
                    _state = State.TrailerName;
                    break;

                case State.TrailerName:
                    if (!CountTrailerByte(i, out consumed)) return ChunkedStep.Error;
                    if (b == Colon) { _state = State.TrailerValue; break; }
                    if (!Token.Contains(b)) return Fail(ChunkedError.InvalidTrailer, i, out consumed);
                    break;

                case State.TrailerValue:
                    if (!CountTrailerByte(i, out consumed)) return ChunkedStep.Error;
                    if (b == CR) { _state = State.TrailerLineFeed; break; }
                    if (!FieldValue.Contains(b)) return Fail(ChunkedError.InvalidTrailer, i, out consumed);
                    break;

                case State.TrailerLineFeed:
                    if (b != LF) return Fail(ChunkedError.BareCarriageReturn, i, out consumed);
                    _state = State.TrailerLineStart;
                    break;
            }
        }
        consumed = i;
        return ChunkedStep.Trailer;
    }

    private bool TryAddHexDigit(byte b)
    {
        int digit = HexValue(b);
        if (digit < 0) return false;
        if (_chunkSize == 0 && digit == 0)
        {
            // Leading zeros are allowed and do not count towards the digit cap.
            return true;
        }
        if (++_sizeDigits > MaxSizeDigits || _chunkSize > (long.MaxValue >> 4))
        {
            Error = ChunkedError.ChunkSizeOverflow;
            _state = State.Failed;
            return true;
        }
        _chunkSize = (_chunkSize << 4) | (uint)digit;
        return true;
    }

    /// <summary>
    /// Adds the chunk's size, now that all its digits are in, to the body's total; false when that goes over max_body.
    /// Judged here rather than digit by digit so that a size too big for 64 bits is reported as malformed (400), as
    /// an overflowing Content-Length is, and not as too large (413). No data of the chunk has been let through yet.
    /// </summary>
    private bool CountDeclaredSize()
    {
        if (_maxBody > 0 && _chunkSize > _maxBody - _total) return false;
        _total += _chunkSize;
        return true;
    }

    private static int HexValue(byte b)
    {
        uint d = (uint)(b - '0');
        if (d <= 9) return (int)d;
        uint l = (uint)((b | 0x20) - 'a');
        return l <= 5 ? (int)l + 10 : -1;
    }

    private bool CountExtensionByte(int i, out int consumed)
    {
        consumed = 0;
        if (++_extensionBytes <= MaxExtensionBytes) return true;
        Fail(ChunkedError.ChunkExtensionTooLong, i, out consumed);
        return false;
    }

    private bool CountTrailerByte(int i, out int consumed)
    {
        consumed = 0;
        if (++_trailerBytes <= _maxTrailerBytes) return true;
        Fail(ChunkedError.TrailerTooLarge, i, out consumed);
        return false;
    }

    private ChunkedStep Fail(ChunkedError error, int at, out int consumed)
    {
        Error = error;
        _state = State.Failed;
        consumed = at;
        return ChunkedStep.Error;
    }
}
