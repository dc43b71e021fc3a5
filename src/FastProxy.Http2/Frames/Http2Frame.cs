using System.Buffers;

namespace FastProxy.Http2.Frames;

/// <summary>
/// One frame as read by <see cref="Http2FrameReader"/>: its header fields, the type-specific fixed fields already
/// decoded, and <see cref="Payload"/>, a slice of the receive buffer (never a copy) holding what is left for the
/// caller: DATA's data and HEADERS/PUSH_PROMISE/CONTINUATION's field block fragment with padding and priority
/// fields removed, GOAWAY's debug data, SETTINGS' parameter list, an unknown frame's whole payload.
/// The slice is valid until the caller advances its pipe past it.
/// </summary>
public struct Http2Frame
{
    /// <summary>The Length field: octets of payload after the 9-octet header, padding included (§4.1).</summary>
    public int Length;
    /// <summary>The raw type octet; compare with <see cref="Http2FrameType"/>; other values are extension frames.</summary>
    public Http2FrameType Type;
    public Http2Flags Flags;
    /// <summary>Stream identifier with the reserved bit cleared (§4.1).</summary>
    public int StreamId;
    public ReadOnlySequence<byte> Payload;

    /// <summary>DATA, HEADERS, PUSH_PROMISE: octets of padding dropped (0 when not padded).</summary>
    public int PadLength;

    /// <summary>HEADERS with PRIORITY, PRIORITY: the stream this one depends on (§5.3.1, deprecated but parsed).</summary>
    public int StreamDependency;
    public bool Exclusive;
    /// <summary>The Weight octet as sent (the weight is this plus one).</summary>
    public byte Weight;

    /// <summary>PUSH_PROMISE: the reserved stream (§6.6).</summary>
    public int PromisedStreamId;

    /// <summary>RST_STREAM, GOAWAY.</summary>
    public Http2ErrorCode ErrorCode;

    /// <summary>GOAWAY: the highest stream the sender may have processed (§6.8).</summary>
    public int LastStreamId;

    /// <summary>WINDOW_UPDATE: 1 to 2^31-1 (§6.9).</summary>
    public int WindowIncrement;

    /// <summary>PING: the 8 opaque octets, big-endian, to be echoed in the ACK (§6.7).</summary>
    public ulong PingData;

    public readonly bool EndStream => (Flags & Http2Flags.EndStream) != 0;
    public readonly bool EndHeaders => (Flags & Http2Flags.EndHeaders) != 0;
    public readonly bool IsAck => (Flags & Http2Flags.Ack) != 0;
    /// <summary>True for frame types RFC 9113 does not define: they are to be ignored (§5.5).</summary>
    public readonly bool IsExtension => (byte)Type > (byte)Http2FrameType.Continuation;
}
