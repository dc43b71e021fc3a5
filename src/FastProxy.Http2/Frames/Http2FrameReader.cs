using System.Buffers;
using System.Buffers.Binary;

namespace FastProxy.Http2.Frames;

public enum Http2ReadStatus : byte
{
    /// <summary>A whole frame was read and consumed.</summary>
    Frame,
    /// <summary>The frame is not complete yet; nothing was consumed. Read more and call again.</summary>
    NeedMore,
    /// <summary>The frame breaks a rule; see the error. A stream error has consumed the frame, a connection error need not.</summary>
    Error,
}

/// <summary>
/// Reads HTTP/2 frames (RFC 9113 §4, §6) from a receive buffer of any segmentation, without copying payloads.
/// It applies every rule that needs only the frame itself: length against SETTINGS_MAX_FRAME_SIZE, stream id
/// zero or not, padding, the fixed lengths, SETTINGS values, zero WINDOW_UPDATE increments, self-dependency,
/// and the one rule across frames that framing alone decides: nothing may come between a HEADERS or PUSH_PROMISE
/// without END_HEADERS and its CONTINUATIONs. What depends on stream state, settings or roles is the caller's.
/// One per connection; resumable: on partial input it returns <see cref="Http2ReadStatus.NeedMore"/> having
/// consumed nothing, but a frame header announcing more than the limit is refused as soon as its 9 octets are in,
/// so an oversized frame is never buffered.
/// </summary>
public sealed class Http2FrameReader
{
    private int _maxFrameSize = Http2Limits.DefaultMaxFrameSize;

    /// <summary>Stream of the field block being read (HEADERS or PUSH_PROMISE without END_HEADERS seen); 0 if none.</summary>
    private int _fieldBlockStream;

    /// <summary>Octets the open field block has taken so far, frame headers included.</summary>
    private long _fieldBlockBytes;

    private int _maxFieldBlockSize = DefaultMaxFieldBlockSize;

    /// <summary>A field block's frames may take 256 KiB in all: 4x a generous 64 KiB header list, whatever the coding.</summary>
    public const int DefaultMaxFieldBlockSize = 256 * 1024;

    /// <summary>
    /// The most one field block (HEADERS or PUSH_PROMISE and its CONTINUATIONs) may take, each frame counting its
    /// 9-octet header as well as its payload, so that a stream of empty CONTINUATION frames is bounded too
    /// (the CONTINUATION flood). Over it: connection error ENHANCE_YOUR_CALM, from the frame header alone.
    /// </summary>
    public int MaxFieldBlockSize
    {
        get => _maxFieldBlockSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, Http2Limits.FrameHeaderLength);
            _maxFieldBlockSize = value;
        }
    }

    /// <summary>Our SETTINGS_MAX_FRAME_SIZE: the largest payload the peer may send (§4.2).</summary>
    public int MaxFrameSize
    {
        get => _maxFrameSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, Http2Limits.DefaultMaxFrameSize);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Http2Limits.MaxAllowedFrameSize);
            _maxFrameSize = value;
        }
    }

    /// <summary>True between a HEADERS/PUSH_PROMISE without END_HEADERS and the CONTINUATION that ends its block.</summary>
    public bool InFieldBlock => _fieldBlockStream != 0;

    public void Reset()
    {
        _maxFrameSize = Http2Limits.DefaultMaxFrameSize;
        _maxFieldBlockSize = DefaultMaxFieldBlockSize;
        _fieldBlockStream = 0;
        _fieldBlockBytes = 0;
    }

    public Http2ReadStatus TryRead(ref ReadOnlySequence<byte> buffer, out Http2Frame frame, out Http2FrameError error)
    {
        frame = default;
        error = default;
        if (buffer.Length < Http2Limits.FrameHeaderLength) return Http2ReadStatus.NeedMore;

        // §4.1: Length (24) | Type (8) | Flags (8) | R (1) + Stream Identifier (31).
        // Read in place; copied (9 octets) only when the header straddles segments.
        Span<byte> copy = stackalloc byte[Http2Limits.FrameHeaderLength];
        scoped ReadOnlySpan<byte> header = buffer.FirstSpan;
        if (header.Length < Http2Limits.FrameHeaderLength)
        {
            buffer.Slice(0, Http2Limits.FrameHeaderLength).CopyTo(copy);
            header = copy;
        }

        int length = (header[0] << 16) | (header[1] << 8) | header[2];
        frame.Length = length;
        frame.Type = (Http2FrameType)header[3];
        frame.Flags = (Http2Flags)header[4];
        frame.StreamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & Http2Limits.StreamIdMask);

        // §4.2: over the limit is FRAME_SIZE_ERROR. We treat it as a connection error for every type (§5.4.1 allows
        // that), because skipping a payload we refuse to buffer is not worth its complexity.
        if (length > _maxFrameSize) return Fail(out error, Http2ErrorCode.FrameSizeError, 0, Http2FrameErrorReason.FrameTooLarge);

        // §6.2, §6.10: a field block is one unit; any frame but its CONTINUATION in between is a connection error.
        // Checked on the header alone so the offender is not even buffered.
        if (_fieldBlockStream != 0)
        {
            if (frame.Type != Http2FrameType.Continuation || frame.StreamId != _fieldBlockStream)
                return Fail(out error, Http2ErrorCode.ProtocolError, 0, Http2FrameErrorReason.ExpectedContinuation);
        }
        else if (frame.Type == Http2FrameType.Continuation)
        {
            return Fail(out error, Http2ErrorCode.ProtocolError, 0, Http2FrameErrorReason.UnexpectedContinuation);
        }

        if (frame.Type is Http2FrameType.Headers or Http2FrameType.PushPromise or Http2FrameType.Continuation)
        {
            long blockBytes = (frame.Type == Http2FrameType.Continuation ? _fieldBlockBytes : 0) + Http2Limits.FrameHeaderLength + length;
            if (blockBytes > _maxFieldBlockSize)
                return Fail(out error, Http2ErrorCode.EnhanceYourCalm, 0, Http2FrameErrorReason.FieldBlockTooLarge);
        }

        if (buffer.Length - Http2Limits.FrameHeaderLength < length) return Http2ReadStatus.NeedMore;

        ReadOnlySequence<byte> payload = buffer.Slice(Http2Limits.FrameHeaderLength, length);
        var reason = frame.Type switch
        {
            Http2FrameType.Data => ReadData(ref frame, payload, out error),
            Http2FrameType.Headers => ReadHeaders(ref frame, payload, out error),
            Http2FrameType.Priority => ReadPriority(ref frame, payload, out error),
            Http2FrameType.RstStream => ReadRstStream(ref frame, payload, out error),
            Http2FrameType.Settings => ReadSettings(ref frame, payload, out error),
            Http2FrameType.PushPromise => ReadPushPromise(ref frame, payload, out error),
            Http2FrameType.Ping => ReadPing(ref frame, payload, out error),
            Http2FrameType.GoAway => ReadGoAway(ref frame, payload, out error),
            Http2FrameType.WindowUpdate => ReadWindowUpdate(ref frame, payload, out error),
            Http2FrameType.Continuation => ReadContinuation(ref frame, payload, out error),
            _ => Ok(ref frame, payload, out error), // §5.5: unknown types are ignored; handed on whole
        };

        if (reason != Http2FrameErrorReason.None && error.IsConnectionError) return Http2ReadStatus.Error;

        // Consumed: a frame, or a stream error that leaves the connection usable.
        buffer = buffer.Slice(Http2Limits.FrameHeaderLength + length);
        if (reason != Http2FrameErrorReason.None) return Http2ReadStatus.Error;

        if (frame.Type is Http2FrameType.Headers or Http2FrameType.PushPromise or Http2FrameType.Continuation)
        {
            _fieldBlockBytes = frame.EndHeaders ? 0 : (frame.Type == Http2FrameType.Continuation ? _fieldBlockBytes : 0) + Http2Limits.FrameHeaderLength + length;
            _fieldBlockStream = frame.EndHeaders ? 0 : frame.StreamId;
        }
        return Http2ReadStatus.Frame;
    }

    private static Http2ReadStatus Fail(out Http2FrameError error, Http2ErrorCode code, int streamId, Http2FrameErrorReason reason)
    {
        error = new Http2FrameError(code, streamId, reason);
        return Http2ReadStatus.Error;
    }

    private static Http2FrameErrorReason Ok(ref Http2Frame frame, in ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        frame.Payload = payload;
        error = default;
        return Http2FrameErrorReason.None;
    }

    private static Http2FrameErrorReason Error(out Http2FrameError error, Http2ErrorCode code, int streamId, Http2FrameErrorReason reason)
    {
        error = new Http2FrameError(code, streamId, reason);
        return reason;
    }

    private static Http2FrameErrorReason Connection(out Http2FrameError error, Http2ErrorCode code, Http2FrameErrorReason reason)
        => Error(out error, code, 0, reason);

    /// <summary>
    /// Strips the Pad Length octet and the padding of a PADDED frame (§6.1), leaving <paramref name="fixedLength"/>
    /// octets of fixed fields (priority, promised stream) at the front of <paramref name="payload"/>. Padding may
    /// take everything after them but no more (§6.2: "padding that exceeds the size remaining for the field block
    /// fragment" is the error), so a DATA frame of only padding is valid and one whose padding overruns is not.
    /// </summary>
    private static Http2FrameErrorReason Unpad(ref Http2Frame frame, ref ReadOnlySequence<byte> payload, int fixedLength, out Http2FrameError error)
    {
        error = default;
        if ((frame.Flags & Http2Flags.Padded) == 0)
        {
            if (payload.Length < fixedLength) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.FrameTooShort);
            return Http2FrameErrorReason.None;
        }
        // §4.2: too small to hold the mandatory Pad Length (and fixed fields) is FRAME_SIZE_ERROR.
        if (payload.Length < 1 + fixedLength) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.FrameTooShort);
        int padLength = FirstByte(payload);
        // §6.1: "If the length of the padding is the length of the frame payload or greater, the recipient MUST
        // treat this as a connection error of type PROTOCOL_ERROR." The Pad Length octet and fixed fields count as payload.
        if (padLength > payload.Length - 1 - fixedLength)
            return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.PaddingTooLong);
        frame.PadLength = padLength;
        payload = payload.Slice(1, payload.Length - 1 - padLength);
        return Http2FrameErrorReason.None;
    }

    private static byte FirstByte(in ReadOnlySequence<byte> sequence) => sequence.FirstSpan.Length > 0 ? sequence.FirstSpan[0] : sequence.Slice(0, 1).FirstSpan[0];

    private static uint ReadUInt32(in ReadOnlySequence<byte> sequence, int offset)
    {
        Span<byte> bytes = stackalloc byte[4];
        sequence.Slice(offset, 4).CopyTo(bytes);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    // §6.1 DATA: stream id not 0; padding.
    private static Http2FrameErrorReason ReadData(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId == 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustNotBeZero);
        var reason = Unpad(ref frame, ref payload, 0, out error);
        if (reason != Http2FrameErrorReason.None) return reason;
        return Ok(ref frame, payload, out error);
    }

    // §6.2 HEADERS: stream id not 0; padding; with PRIORITY, 5 octets of Exclusive + Stream Dependency + Weight.
    private static Http2FrameErrorReason ReadHeaders(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId == 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustNotBeZero);
        bool priority = (frame.Flags & Http2Flags.Priority) != 0;
        var reason = Unpad(ref frame, ref payload, priority ? 5 : 0, out error);
        if (reason != Http2FrameErrorReason.None) return reason;
        if (priority)
        {
            ReadPriorityFields(ref frame, payload);
            payload = payload.Slice(5);
            // §5.3.1: a stream cannot depend on itself, a stream error PROTOCOL_ERROR. Raised to a connection error
            // here (§5.4.1 allows it): a refused HEADERS frame's field block would never reach the HPACK decoder,
            // and skipping one desynchronises the dynamic table for every later block (§4.3).
            if (frame.StreamDependency == frame.StreamId)
                return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamDependsOnItself);
        }
        return Ok(ref frame, payload, out error);
    }

    private static void ReadPriorityFields(ref Http2Frame frame, in ReadOnlySequence<byte> payload)
    {
        uint dependency = ReadUInt32(payload, 0);
        frame.Exclusive = (dependency & 0x8000_0000) != 0;
        frame.StreamDependency = (int)(dependency & Http2Limits.StreamIdMask);
        Span<byte> weight = stackalloc byte[1];
        payload.Slice(4, 1).CopyTo(weight);
        frame.Weight = weight[0];
    }

    // §6.3 PRIORITY: stream id not 0 (connection error); exactly 5 octets (stream error); no self-dependency (stream error).
    private static Http2FrameErrorReason ReadPriority(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId == 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustNotBeZero);
        if (payload.Length != 5) return Error(out error, Http2ErrorCode.FrameSizeError, frame.StreamId, Http2FrameErrorReason.BadFixedLength);
        ReadPriorityFields(ref frame, payload);
        if (frame.StreamDependency == frame.StreamId)
            return Error(out error, Http2ErrorCode.ProtocolError, frame.StreamId, Http2FrameErrorReason.StreamDependsOnItself);
        return Ok(ref frame, ReadOnlySequence<byte>.Empty, out error);
    }

    // §6.4 RST_STREAM: stream id not 0; exactly 4 octets (connection error FRAME_SIZE_ERROR).
    private static Http2FrameErrorReason ReadRstStream(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId == 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustNotBeZero);
        if (payload.Length != 4) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.BadFixedLength);
        frame.ErrorCode = (Http2ErrorCode)ReadUInt32(payload, 0);
        return Ok(ref frame, ReadOnlySequence<byte>.Empty, out error);
    }

    // §6.5 SETTINGS: stream 0; ACK carries nothing; a multiple of 6 octets; values within their ranges (§6.5.2).
    private static Http2FrameErrorReason ReadSettings(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId != 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustBeZero);
        if (frame.IsAck && payload.Length != 0) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.SettingsAckWithPayload);
        if (payload.Length % 6 != 0) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.SettingsLengthNotMultipleOfSix);
        var settings = new Http2SettingsEnumerator(payload);
        while (settings.MoveNext())
        {
            var reason = Http2SettingsEnumerator.Validate(settings.Current.Parameter, settings.Current.Value, out var code);
            if (reason != Http2FrameErrorReason.None) return Connection(out error, code, reason);
        }
        return Ok(ref frame, payload, out error);
    }

    // §6.6 PUSH_PROMISE: stream id not 0; padding; 4 octets of promised stream id.
    private static Http2FrameErrorReason ReadPushPromise(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId == 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustNotBeZero);
        var reason = Unpad(ref frame, ref payload, 4, out error);
        if (reason != Http2FrameErrorReason.None) return reason;
        frame.PromisedStreamId = (int)(ReadUInt32(payload, 0) & Http2Limits.StreamIdMask);
        return Ok(ref frame, payload.Slice(4), out error);
    }

    // §6.7 PING: stream 0; exactly 8 octets.
    private static Http2FrameErrorReason ReadPing(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId != 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustBeZero);
        if (payload.Length != 8) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.BadFixedLength);
        Span<byte> data = stackalloc byte[8];
        payload.CopyTo(data);
        frame.PingData = BinaryPrimitives.ReadUInt64BigEndian(data);
        return Ok(ref frame, payload, out error);
    }

    // §6.8 GOAWAY: stream 0; at least 8 octets (last stream id, error code), then debug data.
    private static Http2FrameErrorReason ReadGoAway(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId != 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustBeZero);
        if (payload.Length < 8) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.BadFixedLength);
        frame.LastStreamId = (int)(ReadUInt32(payload, 0) & Http2Limits.StreamIdMask);
        frame.ErrorCode = (Http2ErrorCode)ReadUInt32(payload, 4);
        return Ok(ref frame, payload.Slice(8), out error);
    }

    // §6.9 WINDOW_UPDATE: exactly 4 octets (connection error); increment 0 is PROTOCOL_ERROR, a stream error on a
    // stream and a connection error on stream 0.
    private static Http2FrameErrorReason ReadWindowUpdate(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (payload.Length != 4) return Connection(out error, Http2ErrorCode.FrameSizeError, Http2FrameErrorReason.BadFixedLength);
        frame.WindowIncrement = (int)(ReadUInt32(payload, 0) & 0x7FFF_FFFF); // the top bit is reserved
        if (frame.WindowIncrement == 0) return Error(out error, Http2ErrorCode.ProtocolError, frame.StreamId, Http2FrameErrorReason.ZeroWindowIncrement);
        return Ok(ref frame, ReadOnlySequence<byte>.Empty, out error);
    }

    // §6.10 CONTINUATION: stream id not 0 (the sequencing was checked on the header).
    private static Http2FrameErrorReason ReadContinuation(ref Http2Frame frame, ReadOnlySequence<byte> payload, out Http2FrameError error)
    {
        if (frame.StreamId == 0) return Connection(out error, Http2ErrorCode.ProtocolError, Http2FrameErrorReason.StreamIdMustNotBeZero);
        return Ok(ref frame, payload, out error);
    }
}
