using FastProxy.Http2.Frames;

namespace FastProxy.Http2.Streams;

/// <summary>The stream states of RFC 9113 §5.1.</summary>
public enum Http2StreamState : byte
{
    Idle,
    ReservedLocal,
    ReservedRemote,
    Open,
    HalfClosedLocal,
    HalfClosedRemote,
    Closed,
}

/// <summary>What to do with a received frame, as §5.1 rules for the stream's state.</summary>
public enum Http2StreamAction : byte
{
    /// <summary>Process it.</summary>
    Accept,
    /// <summary>Drop it silently (after we reset the stream, or a late WINDOW_UPDATE/RST_STREAM on a closed stream).
    /// DATA still counts against the connection window.</summary>
    Ignore,
    /// <summary>RST_STREAM with <see cref="Http2StreamVerdict.Code"/>; the connection goes on (§5.4.2).</summary>
    StreamError,
    /// <summary>GOAWAY with <see cref="Http2StreamVerdict.Code"/> and close (§5.4.1).</summary>
    ConnectionError,
}

/// <summary>How a stream came to be closed (RFC 9113 §5.1, "closed"): it decides what a frame arriving later means.</summary>
public enum Http2StreamClosure : byte
{
    /// <summary>Not closed; or closed, but how is not known any more (forgotten, or implicitly closed, §5.1.1).</summary>
    None,
    /// <summary>Both sides sent END_STREAM.</summary>
    EndStream,
    /// <summary>The peer reset it.</summary>
    ReceivedReset,
    /// <summary>We reset it.</summary>
    SentReset,
}

public readonly record struct Http2StreamVerdict(Http2StreamAction Action, Http2ErrorCode Code = Http2ErrorCode.NoError)
{
    public static readonly Http2StreamVerdict Accept = new(Http2StreamAction.Accept);
    public static readonly Http2StreamVerdict Ignore = new(Http2StreamAction.Ignore);
}

/// <summary>
/// One stream's state machine (RFC 9113 §5.1): the transitions on frames sent and received, and the verdict on
/// each received frame, including how a stream was closed, which decides what a late frame means. A 2-byte struct:
/// it lives inside the connection's stream record, nothing allocated.
/// Stream ids (which are idle, which implicitly closed, odd/even by role) and roles (a server receiving
/// PUSH_PROMISE) are the connection's to judge; this knows one stream.
/// For PUSH_PROMISE, this machine is the promised stream's: receiving or sending the promise reserves it.
/// </summary>
public struct Http2StreamStateMachine
{
    private Http2StreamClosure _closedBy;

    public Http2StreamState State { get; private set; }

    /// <summary>How the stream was closed (None while it is not).</summary>
    public readonly Http2StreamClosure Closure => _closedBy;

    /// <summary>
    /// A closed stream's machine, for a stream whose record is gone: its late frames are judged by how it was closed.
    /// <see cref="Http2StreamClosure.None"/>: closed, but how is not known (a stream closed too long ago to be
    /// remembered, or one the peer skipped, §5.1.1).
    /// </summary>
    public static Http2StreamStateMachine Closed(Http2StreamClosure closure) => new() { State = Http2StreamState.Closed, _closedBy = closure };

    /// <summary>Whether the peer may still send DATA: open or half-closed (local).</summary>
    public readonly bool CanReceiveData => State is Http2StreamState.Open or Http2StreamState.HalfClosedLocal;

    /// <summary>Whether we may still send DATA: open or half-closed (remote).</summary>
    public readonly bool CanSendData => State is Http2StreamState.Open or Http2StreamState.HalfClosedRemote;

    /// <summary>The verdict on a frame received on this stream, and the state change it makes.</summary>
    public Http2StreamVerdict OnReceive(Http2FrameType type, bool endStream)
    {
        // PRIORITY may arrive in any state (§5.1) and changes nothing.
        if (type == Http2FrameType.Priority) return Http2StreamVerdict.Accept;

        switch (State)
        {
            case Http2StreamState.Idle:
                // "Receiving any frame other than HEADERS or PRIORITY on a stream in this state MUST be treated as a
                // connection error of type PROTOCOL_ERROR."
                if (type == Http2FrameType.Headers)
                {
                    State = endStream ? Http2StreamState.HalfClosedRemote : Http2StreamState.Open;
                    return Http2StreamVerdict.Accept;
                }
                if (type == Http2FrameType.PushPromise)
                {
                    State = Http2StreamState.ReservedRemote;
                    return Http2StreamVerdict.Accept;
                }
                return Connection(Http2ErrorCode.ProtocolError);

            case Http2StreamState.ReservedLocal:
                // We promised it: the peer may only reset it or update its window.
                if (type == Http2FrameType.RstStream) return Close(Http2StreamClosure.ReceivedReset);
                if (type == Http2FrameType.WindowUpdate) return Http2StreamVerdict.Accept;
                return Connection(Http2ErrorCode.ProtocolError);

            case Http2StreamState.ReservedRemote:
                // "Receiving any type of frame other than HEADERS, RST_STREAM, or PRIORITY ... PROTOCOL_ERROR."
                if (type == Http2FrameType.Headers)
                {
                    State = Http2StreamState.HalfClosedLocal;
                    return endStream ? Close(Http2StreamClosure.EndStream) : Http2StreamVerdict.Accept;
                }
                if (type == Http2FrameType.RstStream) return Close(Http2StreamClosure.ReceivedReset);
                return Connection(Http2ErrorCode.ProtocolError);

            case Http2StreamState.Open:
                if (type == Http2FrameType.RstStream) return Close(Http2StreamClosure.ReceivedReset);
                if (endStream && type is Http2FrameType.Data or Http2FrameType.Headers) State = Http2StreamState.HalfClosedRemote;
                return Http2StreamVerdict.Accept;

            case Http2StreamState.HalfClosedLocal:
                // "An endpoint can receive any type of frame in this state."
                if (type == Http2FrameType.RstStream) return Close(Http2StreamClosure.ReceivedReset);
                if (endStream && type is Http2FrameType.Data or Http2FrameType.Headers) return Close(Http2StreamClosure.EndStream);
                return Http2StreamVerdict.Accept;

            case Http2StreamState.HalfClosedRemote:
                // "If an endpoint receives additional frames, other than WINDOW_UPDATE, PRIORITY, or RST_STREAM, for a
                // stream that is in this state, it MUST respond with a stream error of type STREAM_CLOSED."
                if (type == Http2FrameType.RstStream) return Close(Http2StreamClosure.ReceivedReset);
                if (type == Http2FrameType.WindowUpdate) return Http2StreamVerdict.Accept;
                return new Http2StreamVerdict(Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed);

            default: // Closed
                switch (_closedBy)
                {
                    case Http2StreamClosure.SentReset:
                        // "An endpoint MUST ignore frames that it receives on closed streams after it has sent a
                        // RST_STREAM frame": the peer may have sent them before it saw ours.
                        return Http2StreamVerdict.Ignore;
                    case Http2StreamClosure.ReceivedReset:
                        // "An endpoint that receives any frame other than PRIORITY after receiving a RST_STREAM MUST
                        // treat that as a stream error of type STREAM_CLOSED", except that a RST_STREAM is never
                        // answered with one (§5.4.2: "to avoid looping").
                        if (type == Http2FrameType.RstStream) return Http2StreamVerdict.Ignore;
                        return new Http2StreamVerdict(Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed);
                    case Http2StreamClosure.None:
                        // Closed, how is not known (forgotten, or never opened and implicitly closed by a higher id,
                        // §5.1.1). DATA: "If a DATA frame is received whose stream is not in the 'open' or 'half-closed
                        // (local)' state, the recipient MUST respond with a stream error of type STREAM_CLOSED" (§6.1),
                        // a stream error rather than the connection error §5.1 allows, since the stream may be one we
                        // reset (whose late frames are harmless). A late WINDOW_UPDATE or RST_STREAM may follow any
                        // closing. HEADERS on a closed stream: the connection error §5.1 allows (a new stream cannot
                        // take a lower id, §5.1.1).
                        if (type is Http2FrameType.WindowUpdate or Http2FrameType.RstStream) return Http2StreamVerdict.Ignore;
                        if (type == Http2FrameType.Data) return new Http2StreamVerdict(Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed);
                        return Connection(Http2ErrorCode.StreamClosed);
                    default:
                        // After END_STREAM both ways: WINDOW_UPDATE and RST_STREAM may still come for a while (the
                        // peer had not seen our END_STREAM yet); anything else "MUST [be treated] as a connection error
                        // of type STREAM_CLOSED".
                        if (type is Http2FrameType.WindowUpdate or Http2FrameType.RstStream) return Http2StreamVerdict.Ignore;
                        return Connection(Http2ErrorCode.StreamClosed);
                }
        }
    }

    /// <summary>
    /// Records a frame we send on this stream. False, with no change, if §5.1 forbids sending it in this state:
    /// the caller has a bug (e.g. DATA after our END_STREAM).
    /// </summary>
    public bool OnSend(Http2FrameType type, bool endStream)
    {
        if (type == Http2FrameType.Priority) return true;
        if (type == Http2FrameType.RstStream)
        {
            if (State == Http2StreamState.Idle) return false; // §6.4: RST_STREAM MUST NOT be sent for an idle stream
            if (State != Http2StreamState.Closed) Close(Http2StreamClosure.SentReset);
            return true; // on a closed stream: the answer to a late frame's stream error
        }
        switch (State)
        {
            case Http2StreamState.Idle:
                if (type == Http2FrameType.Headers)
                {
                    State = endStream ? Http2StreamState.HalfClosedLocal : Http2StreamState.Open;
                    return true;
                }
                if (type == Http2FrameType.PushPromise)
                {
                    State = Http2StreamState.ReservedLocal;
                    return true;
                }
                return false;
            case Http2StreamState.ReservedLocal:
                if (type != Http2FrameType.Headers) return false;
                State = Http2StreamState.HalfClosedRemote;
                if (endStream) Close(Http2StreamClosure.EndStream);
                return true;
            case Http2StreamState.ReservedRemote:
                return type == Http2FrameType.WindowUpdate;
            case Http2StreamState.Open:
                if (endStream && type is Http2FrameType.Data or Http2FrameType.Headers) State = Http2StreamState.HalfClosedLocal;
                return true;
            case Http2StreamState.HalfClosedLocal:
                return type == Http2FrameType.WindowUpdate;
            case Http2StreamState.HalfClosedRemote:
                if (endStream && type is Http2FrameType.Data or Http2FrameType.Headers) Close(Http2StreamClosure.EndStream);
                return true;
            default:
                return false;
        }
    }

    private Http2StreamVerdict Close(Http2StreamClosure by)
    {
        State = Http2StreamState.Closed;
        _closedBy = by;
        return Http2StreamVerdict.Accept;
    }

    private static Http2StreamVerdict Connection(Http2ErrorCode code) => new(Http2StreamAction.ConnectionError, code);
}
