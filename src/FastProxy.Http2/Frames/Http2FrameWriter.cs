using System.Buffers;
using System.Buffers.Binary;

namespace FastProxy.Http2.Frames;

/// <summary>
/// Writes HTTP/2 frames (RFC 9113 §4.1, §6) into any <see cref="IBufferWriter{T}"/> (a pipe's writer on the send
/// path). Each method writes one whole frame: header and payload, asking the writer for exactly the room it needs.
/// The caller keeps to the peer's SETTINGS_MAX_FRAME_SIZE; <see cref="WriteFieldBlock"/> splits a field block into
/// HEADERS and CONTINUATION frames by it.
/// </summary>
public static class Http2FrameWriter
{
    public static void WriteFrameHeader(IBufferWriter<byte> writer, int length, Http2FrameType type, Http2Flags flags, int streamId)
    {
        Span<byte> header = writer.GetSpan(Http2Limits.FrameHeaderLength);
        WriteFrameHeader(header, length, type, flags, streamId);
        writer.Advance(Http2Limits.FrameHeaderLength);
    }

    private static void WriteFrameHeader(Span<byte> header, int length, Http2FrameType type, Http2Flags flags, int streamId)
    {
        if ((uint)length > Http2Limits.MaxAllowedFrameSize) throw new ArgumentOutOfRangeException(nameof(length));
        header[0] = (byte)(length >> 16);
        header[1] = (byte)(length >> 8);
        header[2] = (byte)length;
        header[3] = (byte)type;
        header[4] = (byte)flags;
        BinaryPrimitives.WriteUInt32BigEndian(header[5..], (uint)streamId & Http2Limits.StreamIdMask);
    }

    /// <summary>DATA (§6.1); <paramref name="padLength"/> &gt; 0 adds the Pad Length octet and that many zero octets.</summary>
    public static void WriteData(IBufferWriter<byte> writer, int streamId, ReadOnlySpan<byte> data, bool endStream, int padLength = 0)
    {
        var flags = endStream ? Http2Flags.EndStream : Http2Flags.None;
        WritePadded(writer, Http2FrameType.Data, flags, streamId, [], data, padLength);
    }

    /// <summary>DATA (§6.1) from a sequence, e.g. a body slice of an upstream's receive buffer.</summary>
    public static void WriteData(IBufferWriter<byte> writer, int streamId, in ReadOnlySequence<byte> data, bool endStream)
    {
        WriteFrameHeader(writer, checked((int)data.Length), Http2FrameType.Data, endStream ? Http2Flags.EndStream : Http2Flags.None, streamId);
        foreach (ReadOnlyMemory<byte> segment in data) writer.Write(segment.Span);
    }

    /// <summary>HEADERS (§6.2) carrying a whole field block fragment; see <see cref="WriteFieldBlock"/> for splitting.</summary>
    public static void WriteHeaders(IBufferWriter<byte> writer, int streamId, ReadOnlySpan<byte> fieldBlock, bool endStream, bool endHeaders,
        int padLength = 0)
    {
        var flags = (endStream ? Http2Flags.EndStream : 0) | (endHeaders ? Http2Flags.EndHeaders : 0);
        WritePadded(writer, Http2FrameType.Headers, flags, streamId, [], fieldBlock, padLength);
    }

    /// <summary>HEADERS with the PRIORITY flag (§6.2): Exclusive, Stream Dependency and Weight before the block.</summary>
    public static void WriteHeaders(IBufferWriter<byte> writer, int streamId, ReadOnlySpan<byte> fieldBlock, bool endStream, bool endHeaders,
        int streamDependency, bool exclusive, byte weight)
    {
        var flags = Http2Flags.Priority | (endStream ? Http2Flags.EndStream : 0) | (endHeaders ? Http2Flags.EndHeaders : 0);
        Span<byte> priority = stackalloc byte[5];
        WritePriorityFields(priority, streamDependency, exclusive, weight);
        WritePadded(writer, Http2FrameType.Headers, flags, streamId, priority, fieldBlock, 0);
    }

    /// <summary>
    /// A whole field block as one HEADERS frame and as many CONTINUATION frames as <paramref name="maxFrameSize"/>
    /// (the peer's SETTINGS_MAX_FRAME_SIZE) requires; END_HEADERS on the last (§4.3, §6.10).
    /// </summary>
    public static void WriteFieldBlock(IBufferWriter<byte> writer, int streamId, ReadOnlySpan<byte> fieldBlock, bool endStream, int maxFrameSize)
    {
        int first = Math.Min(fieldBlock.Length, maxFrameSize);
        WriteHeaders(writer, streamId, fieldBlock[..first], endStream, endHeaders: first == fieldBlock.Length);
        fieldBlock = fieldBlock[first..];
        while (fieldBlock.Length > 0)
        {
            int n = Math.Min(fieldBlock.Length, maxFrameSize);
            WriteContinuation(writer, streamId, fieldBlock[..n], endHeaders: n == fieldBlock.Length);
            fieldBlock = fieldBlock[n..];
        }
    }

    /// <summary>PRIORITY (§6.3).</summary>
    public static void WritePriority(IBufferWriter<byte> writer, int streamId, int streamDependency, bool exclusive, byte weight)
    {
        Span<byte> frame = writer.GetSpan(Http2Limits.FrameHeaderLength + 5);
        WriteFrameHeader(frame, 5, Http2FrameType.Priority, Http2Flags.None, streamId);
        WritePriorityFields(frame[Http2Limits.FrameHeaderLength..], streamDependency, exclusive, weight);
        writer.Advance(Http2Limits.FrameHeaderLength + 5);
    }

    private static void WritePriorityFields(Span<byte> fields, int streamDependency, bool exclusive, byte weight)
    {
        uint dependency = ((uint)streamDependency & Http2Limits.StreamIdMask) | (exclusive ? 0x8000_0000u : 0);
        BinaryPrimitives.WriteUInt32BigEndian(fields, dependency);
        fields[4] = weight;
    }

    /// <summary>RST_STREAM (§6.4).</summary>
    public static void WriteRstStream(IBufferWriter<byte> writer, int streamId, Http2ErrorCode code) =>
        WriteUInt32Frame(writer, Http2FrameType.RstStream, streamId, (uint)code);

    /// <summary>SETTINGS (§6.5) with the given parameters, in order.</summary>
    public static void WriteSettings(IBufferWriter<byte> writer, ReadOnlySpan<Http2Setting> settings)
    {
        int length = settings.Length * 6;
        Span<byte> frame = writer.GetSpan(Http2Limits.FrameHeaderLength + length);
        WriteFrameHeader(frame, length, Http2FrameType.Settings, Http2Flags.None, 0);
        Span<byte> entry = frame[Http2Limits.FrameHeaderLength..];
        foreach (Http2Setting setting in settings)
        {
            BinaryPrimitives.WriteUInt16BigEndian(entry, (ushort)setting.Parameter);
            BinaryPrimitives.WriteUInt32BigEndian(entry[2..], setting.Value);
            entry = entry[6..];
        }
        writer.Advance(Http2Limits.FrameHeaderLength + length);
    }

    /// <summary>SETTINGS with ACK and no payload (§6.5).</summary>
    public static void WriteSettingsAck(IBufferWriter<byte> writer) =>
        WriteFrameHeader(writer, 0, Http2FrameType.Settings, Http2Flags.Ack, 0);

    /// <summary>PUSH_PROMISE (§6.6).</summary>
    public static void WritePushPromise(IBufferWriter<byte> writer, int streamId, int promisedStreamId, ReadOnlySpan<byte> fieldBlock, bool endHeaders)
    {
        Span<byte> promised = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(promised, (uint)promisedStreamId & Http2Limits.StreamIdMask);
        WritePadded(writer, Http2FrameType.PushPromise, endHeaders ? Http2Flags.EndHeaders : Http2Flags.None, streamId, promised, fieldBlock, 0);
    }

    /// <summary>PING (§6.7); a reply carries ACK and the same 8 octets.</summary>
    public static void WritePing(IBufferWriter<byte> writer, ulong data, bool ack)
    {
        Span<byte> frame = writer.GetSpan(Http2Limits.FrameHeaderLength + 8);
        WriteFrameHeader(frame, 8, Http2FrameType.Ping, ack ? Http2Flags.Ack : Http2Flags.None, 0);
        BinaryPrimitives.WriteUInt64BigEndian(frame[Http2Limits.FrameHeaderLength..], data);
        writer.Advance(Http2Limits.FrameHeaderLength + 8);
    }

    /// <summary>GOAWAY (§6.8): the last stream this side processed or may process, the reason, optional debug data.</summary>
    public static void WriteGoAway(IBufferWriter<byte> writer, int lastStreamId, Http2ErrorCode code, ReadOnlySpan<byte> debugData = default)
    {
        int length = 8 + debugData.Length;
        Span<byte> frame = writer.GetSpan(Http2Limits.FrameHeaderLength + length);
        WriteFrameHeader(frame, length, Http2FrameType.GoAway, Http2Flags.None, 0);
        Span<byte> payload = frame[Http2Limits.FrameHeaderLength..];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)lastStreamId & Http2Limits.StreamIdMask);
        BinaryPrimitives.WriteUInt32BigEndian(payload[4..], (uint)code);
        debugData.CopyTo(payload[8..]);
        writer.Advance(Http2Limits.FrameHeaderLength + length);
    }

    /// <summary>WINDOW_UPDATE (§6.9): 1 .. 2^31-1; stream 0 for the connection window.</summary>
    public static void WriteWindowUpdate(IBufferWriter<byte> writer, int streamId, int increment)
    {
        if (increment <= 0) throw new ArgumentOutOfRangeException(nameof(increment), "a WINDOW_UPDATE increment is 1 to 2^31-1 (RFC 9113 §6.9)");
        WriteUInt32Frame(writer, Http2FrameType.WindowUpdate, streamId, (uint)increment);
    }

    /// <summary>CONTINUATION (§6.10).</summary>
    public static void WriteContinuation(IBufferWriter<byte> writer, int streamId, ReadOnlySpan<byte> fieldBlock, bool endHeaders)
    {
        WriteFrameHeader(writer, fieldBlock.Length, Http2FrameType.Continuation, endHeaders ? Http2Flags.EndHeaders : Http2Flags.None, streamId);
        writer.Write(fieldBlock);
    }

    private static void WriteUInt32Frame(IBufferWriter<byte> writer, Http2FrameType type, int streamId, uint value)
    {
        Span<byte> frame = writer.GetSpan(Http2Limits.FrameHeaderLength + 4);
        WriteFrameHeader(frame, 4, type, Http2Flags.None, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(frame[Http2Limits.FrameHeaderLength..], value);
        writer.Advance(Http2Limits.FrameHeaderLength + 4);
    }

    private static void WritePadded(IBufferWriter<byte> writer, Http2FrameType type, Http2Flags flags, int streamId,
        ReadOnlySpan<byte> fixedFields, ReadOnlySpan<byte> body, int padLength)
    {
        if ((uint)padLength > 255) throw new ArgumentOutOfRangeException(nameof(padLength), "the Pad Length field is one octet");
        bool padded = padLength > 0;
        int length = (padded ? 1 + padLength : 0) + fixedFields.Length + body.Length;
        WriteFrameHeader(writer, length, type, flags | (padded ? Http2Flags.Padded : 0), streamId);
        if (padded)
        {
            Span<byte> pad = writer.GetSpan(1);
            pad[0] = (byte)padLength;
            writer.Advance(1);
        }
        writer.Write(fixedFields);
        writer.Write(body);
        if (padded)
        {
            // §6.1: padding octets MUST be zero when sent.
            Span<byte> zeros = writer.GetSpan(padLength);
            zeros[..padLength].Clear();
            writer.Advance(padLength);
        }
    }
}
