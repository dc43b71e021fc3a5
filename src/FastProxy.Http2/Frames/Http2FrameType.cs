namespace FastProxy.Http2.Frames;

/// <summary>Frame types of RFC 9113 §6; any other value is an extension frame, which is ignored (§4.1, §5.5).</summary>
public enum Http2FrameType : byte
{
    Data = 0x0,
    Headers = 0x1,
    Priority = 0x2,
    RstStream = 0x3,
    Settings = 0x4,
    PushPromise = 0x5,
    Ping = 0x6,
    GoAway = 0x7,
    WindowUpdate = 0x8,
    Continuation = 0x9,
}

/// <summary>Frame flags (RFC 9113 §6). One byte; the meaning of a bit depends on the frame type, so some share a value.</summary>
[Flags]
public enum Http2Flags : byte
{
    None = 0,
    /// <summary>DATA, HEADERS: the sender's last frame on this stream (§6.1, §6.2).</summary>
    EndStream = 0x1,
    /// <summary>SETTINGS, PING: this frame acknowledges the peer's (§6.5, §6.7).</summary>
    Ack = 0x1,
    /// <summary>HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends in this frame (§6.2, §6.6, §6.10).</summary>
    EndHeaders = 0x4,
    /// <summary>DATA, HEADERS, PUSH_PROMISE: a Pad Length byte leads the payload and padding ends it (§6.1).</summary>
    Padded = 0x8,
    /// <summary>HEADERS: Exclusive, Stream Dependency and Weight lead the field block (§6.2).</summary>
    Priority = 0x20,
}

/// <summary>Error codes of RFC 9113 §7, sent in RST_STREAM and GOAWAY.</summary>
public enum Http2ErrorCode : uint
{
    NoError = 0x0,
    ProtocolError = 0x1,
    InternalError = 0x2,
    FlowControlError = 0x3,
    SettingsTimeout = 0x4,
    StreamClosed = 0x5,
    FrameSizeError = 0x6,
    RefusedStream = 0x7,
    Cancel = 0x8,
    CompressionError = 0x9,
    ConnectError = 0xa,
    EnhanceYourCalm = 0xb,
    InadequateSecurity = 0xc,
    Http11Required = 0xd,
}

/// <summary>SETTINGS parameters (RFC 9113 §6.5.2); unknown identifiers are ignored.</summary>
public enum Http2SettingsParameter : ushort
{
    HeaderTableSize = 0x1,
    EnablePush = 0x2,
    MaxConcurrentStreams = 0x3,
    InitialWindowSize = 0x4,
    MaxFrameSize = 0x5,
    MaxHeaderListSize = 0x6,
    /// <summary>RFC 8441 §3: 0 or 1.</summary>
    EnableConnectProtocol = 0x8,
    /// <summary>RFC 9218 §2.1: 0 or 1.</summary>
    NoRfc7540Priorities = 0x9,
}
