namespace FastProxy.Http2.Frames;

/// <summary>Why a frame was refused; the RFC rule is named on each.</summary>
public enum Http2FrameErrorReason : byte
{
    None = 0,
    /// <summary>Length over our SETTINGS_MAX_FRAME_SIZE (§4.2).</summary>
    FrameTooLarge,
    /// <summary>SETTINGS, PING, GOAWAY on a stream, or WINDOW_UPDATE/RST_STREAM/PRIORITY rules (§6.5, §6.7, §6.8).</summary>
    StreamIdMustBeZero,
    /// <summary>DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE, CONTINUATION on stream 0 (§6.1-§6.4, §6.6, §6.10).</summary>
    StreamIdMustNotBeZero,
    /// <summary>Padded frame too short for its Pad Length octet or its fixed fields (§4.2).</summary>
    FrameTooShort,
    /// <summary>Padding as long as or longer than what remains of the payload (§6.1, §6.2, §6.6).</summary>
    PaddingTooLong,
    /// <summary>PRIORITY not 5 octets, RST_STREAM/WINDOW_UPDATE not 4, PING not 8, GOAWAY under 8 (§6.3-§6.9).</summary>
    BadFixedLength,
    /// <summary>SETTINGS with ACK and a payload (§6.5).</summary>
    SettingsAckWithPayload,
    /// <summary>SETTINGS payload not a multiple of 6 octets (§6.5).</summary>
    SettingsLengthNotMultipleOfSix,
    /// <summary>SETTINGS_ENABLE_PUSH (or another boolean setting) not 0 or 1 (§6.5.2).</summary>
    SettingsBadBoolean,
    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 (§6.5.2): FLOW_CONTROL_ERROR.</summary>
    SettingsInitialWindowTooLarge,
    /// <summary>SETTINGS_MAX_FRAME_SIZE outside 2^14 .. 2^24-1 (§6.5.2).</summary>
    SettingsMaxFrameSizeOutOfRange,
    /// <summary>WINDOW_UPDATE with an increment of 0 (§6.9).</summary>
    ZeroWindowIncrement,
    /// <summary>A stream made to depend on itself (§5.3.1).</summary>
    StreamDependsOnItself,
    /// <summary>A field block is open and this frame is not its CONTINUATION on the same stream (§6.2, §6.10).</summary>
    ExpectedContinuation,
    /// <summary>CONTINUATION with no field block open (§6.10).</summary>
    UnexpectedContinuation,
    /// <summary>A field block's frames over <see cref="Http2FrameReader.MaxFieldBlockSize"/>: the CONTINUATION flood (ENHANCE_YOUR_CALM).</summary>
    FieldBlockTooLarge,
}

/// <summary>
/// A refused frame: the code to send and where. <see cref="StreamId"/> 0 is a connection error (GOAWAY, then close,
/// §5.4.1); otherwise a stream error (RST_STREAM on that stream, §5.4.2) and the frame has been consumed, so reading
/// can go on.
/// </summary>
public readonly record struct Http2FrameError(Http2ErrorCode Code, int StreamId, Http2FrameErrorReason Reason)
{
    public bool IsConnectionError => StreamId == 0;

    public static Http2FrameError Connection(Http2ErrorCode code, Http2FrameErrorReason reason) => new(code, 0, reason);
}
