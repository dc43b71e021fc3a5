using System.Buffers;
using System.Buffers.Binary;

namespace FastProxy.Http2.Frames;

public readonly record struct Http2Setting(Http2SettingsParameter Parameter, uint Value);

/// <summary>
/// Walks a SETTINGS payload (RFC 9113 §6.5.1): 6-octet entries of Identifier (16) and Value (32), in order;
/// the same identifier may come twice and the last one wins, which walking in order gives for free.
/// A struct: no allocation, works across segments.
/// </summary>
public struct Http2SettingsEnumerator
{
    private ReadOnlySequence<byte> _rest;

    public Http2SettingsEnumerator(ReadOnlySequence<byte> payload)
    {
        _rest = payload;
        Current = default;
    }

    public Http2Setting Current { get; private set; }

    public readonly Http2SettingsEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_rest.Length < 6) return false;
        Span<byte> entry = stackalloc byte[6];
        _rest.Slice(0, 6).CopyTo(entry);
        _rest = _rest.Slice(6);
        Current = new Http2Setting((Http2SettingsParameter)BinaryPrimitives.ReadUInt16BigEndian(entry),
            BinaryPrimitives.ReadUInt32BigEndian(entry[2..]));
        return true;
    }

    /// <summary>The value rules of §6.5.2 (and RFC 8441 §3, RFC 9218 §2.1); unknown identifiers pass (§6.5.2: ignored).</summary>
    public static Http2FrameErrorReason Validate(Http2SettingsParameter parameter, uint value, out Http2ErrorCode code)
    {
        code = Http2ErrorCode.ProtocolError;
        switch (parameter)
        {
            case Http2SettingsParameter.EnablePush:
            case Http2SettingsParameter.EnableConnectProtocol:
            case Http2SettingsParameter.NoRfc7540Priorities:
                return value <= 1 ? Http2FrameErrorReason.None : Http2FrameErrorReason.SettingsBadBoolean;
            case Http2SettingsParameter.InitialWindowSize:
                code = Http2ErrorCode.FlowControlError;
                return value <= Http2Limits.MaxWindowSize ? Http2FrameErrorReason.None : Http2FrameErrorReason.SettingsInitialWindowTooLarge;
            case Http2SettingsParameter.MaxFrameSize:
                return value is >= Http2Limits.DefaultMaxFrameSize and <= Http2Limits.MaxAllowedFrameSize
                    ? Http2FrameErrorReason.None
                    : Http2FrameErrorReason.SettingsMaxFrameSizeOutOfRange;
            default:
                return Http2FrameErrorReason.None;
        }
    }
}
