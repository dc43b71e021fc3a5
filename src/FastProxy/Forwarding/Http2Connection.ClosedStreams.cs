using FastProxy.Http2.Frames;
using FastProxy.Http2.Streams;

namespace FastProxy.Forwarding;

/// <summary>
/// Frames for streams that are not in the table: idle ones, and closed ones, whose records are gone (and reused), so
/// how each closed is kept apart (<see cref="_closed"/>) to answer their late frames as RFC 9113 §5.1 rules.
/// </summary>
internal sealed partial class Http2Connection
{
    /// <summary>
    /// How the client's recent streams were closed, once they have left the table (<see cref="RemoveLocked"/>);
    /// under <see cref="_sync"/>.
    /// </summary>
    private Http2ClosedStreams _closed;

    /// <summary>
    /// The verdict on a frame for a stream not in the table (under <see cref="_sync"/>). Idle: a connection error
    /// PROTOCOL_ERROR (§5.1), and every even id is idle (we push nothing, §5.1.1); except that after our final GOAWAY
    /// the client's streams above its last id are ones we ignored, and so are their frames (§6.8). Closed: as §5.1
    /// rules for how it was closed, if that is remembered (<see cref="_closed"/>).
    /// </summary>
    private Http2StreamVerdict ClosedOrIdleLocked(int id, Http2FrameType type, bool endStream)
    {
        if ((id & 1) == 0) return new Http2StreamVerdict(Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError);
        if (id > _lastStreamId)
            return _goAwaySent ? Http2StreamVerdict.Ignore : new Http2StreamVerdict(Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError);
        return Http2StreamStateMachine.Closed(_closed.Find(id, _lastStreamId)).OnReceive(type, endStream);
    }

    /// <summary>
    /// Acts on <see cref="ClosedOrIdleLocked"/>'s verdict (read loop, under <see cref="_sync"/>): a connection error's
    /// code, or NoError. A stream error is answered with RST_STREAM, once: from then on we have reset the stream, and
    /// its further frames are ignored (§5.1). Such answers count as control frames (a flood of frames on closed
    /// streams must not make us write without bound, CVE-2019-9514).
    /// </summary>
    private Http2ErrorCode OnClosedOrIdleLocked(int id, Http2StreamVerdict verdict)
    {
        switch (verdict.Action)
        {
            case Http2StreamAction.ConnectionError:
                return verdict.Code;
            case Http2StreamAction.StreamError:
                if (++_controlFramesInWindow > MaxControlFramesPerSecond && ControlWindowFull()) return Http2ErrorCode.EnhanceYourCalm;
                Http2FrameWriter.WriteRstStream(_control, id, verdict.Code);
                _closed.Record(id, _lastStreamId, Http2StreamClosure.SentReset);
                return Http2ErrorCode.NoError;
            default:
                return Http2ErrorCode.NoError;
        }
    }
}
