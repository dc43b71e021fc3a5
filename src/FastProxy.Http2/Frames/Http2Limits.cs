namespace FastProxy.Http2.Frames;

/// <summary>The fixed numbers of RFC 9113 that frame code and flow control share.</summary>
public static class Http2Limits
{
    /// <summary>Every frame starts with 9 octets: length (24), type (8), flags (8), R + stream id (1 + 31) (§4.1).</summary>
    public const int FrameHeaderLength = 9;

    /// <summary>SETTINGS_MAX_FRAME_SIZE starts at 2^14 and may not be set below it (§6.5.2).</summary>
    public const int DefaultMaxFrameSize = 16_384;

    /// <summary>The largest SETTINGS_MAX_FRAME_SIZE allowed: 2^24 - 1, what the 24-bit length can carry (§6.5.2).</summary>
    public const int MaxAllowedFrameSize = 16_777_215;

    /// <summary>Flow-control windows start at 65,535 (§6.9.2) ...</summary>
    public const int DefaultInitialWindowSize = 65_535;

    /// <summary>... and may never exceed 2^31 - 1 (§6.9.1).</summary>
    public const int MaxWindowSize = int.MaxValue;

    /// <summary>HPACK's dynamic table starts at 4,096 octets (SETTINGS_HEADER_TABLE_SIZE, §6.5.2).</summary>
    public const int DefaultHeaderTableSize = 4_096;

    /// <summary>Stream identifiers are 31 bits; the top bit of the field is reserved and ignored on receipt (§4.1).</summary>
    public const uint StreamIdMask = 0x7FFF_FFFF;
}
