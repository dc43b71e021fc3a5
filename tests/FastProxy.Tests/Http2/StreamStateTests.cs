using FastProxy.Http2.Frames;
using FastProxy.Http2.Streams;

namespace FastProxy.Tests.Http2;

/// <summary>RFC 9113 §5.1, the stream state diagram and the rules for frames in each state.</summary>
public sealed class StreamStateTests
{
    private const Http2FrameType Data = Http2FrameType.Data, Headers = Http2FrameType.Headers, Priority = Http2FrameType.Priority,
        Rst = Http2FrameType.RstStream, Push = Http2FrameType.PushPromise, WindowUpdate = Http2FrameType.WindowUpdate;

    /// <summary>Drives a fresh stream to a state through frames as a peer and we would exchange them.</summary>
    private static Http2StreamStateMachine In(string state)
    {
        var s = new Http2StreamStateMachine();
        bool ok = state switch
        {
            "idle" => true,
            "reserved-local" => s.OnSend(Push, false),
            "reserved-remote" => s.OnReceive(Push, false).Action == Http2StreamAction.Accept,
            "open" => s.OnReceive(Headers, false).Action == Http2StreamAction.Accept,
            "half-closed-local" => s.OnReceive(Headers, false).Action == Http2StreamAction.Accept && s.OnSend(Data, true),
            "half-closed-remote" => s.OnReceive(Headers, true).Action == Http2StreamAction.Accept,
            "closed-end-stream" => s.OnReceive(Headers, true).Action == Http2StreamAction.Accept && s.OnSend(Headers, true),
            "closed-received-rst" => s.OnReceive(Headers, false).Action == Http2StreamAction.Accept && s.OnReceive(Rst, false).Action == Http2StreamAction.Accept,
            "closed-sent-rst" => s.OnReceive(Headers, false).Action == Http2StreamAction.Accept && s.OnSend(Rst, false),
            // Rebuilt from a remembered closing (Http2ClosedStreams), or closed and not remembered how.
            "remembered-end-stream" => (s = Http2StreamStateMachine.Closed(Http2StreamClosure.EndStream)).State == Http2StreamState.Closed,
            "remembered-received-rst" => (s = Http2StreamStateMachine.Closed(Http2StreamClosure.ReceivedReset)).State == Http2StreamState.Closed,
            "remembered-sent-rst" => (s = Http2StreamStateMachine.Closed(Http2StreamClosure.SentReset)).State == Http2StreamState.Closed,
            "closed-unknown" => (s = Http2StreamStateMachine.Closed(Http2StreamClosure.None)).State == Http2StreamState.Closed,
            _ => false,
        };
        Assert.True(ok, state);
        return s;
    }

    public static TheoryData<string, Http2FrameType, bool, Http2StreamAction, Http2ErrorCode, Http2StreamState> Receives() => new()
    {
        // idle: HEADERS opens, PRIORITY is fine, anything else is a connection PROTOCOL_ERROR
        { "idle", Headers, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Open },
        { "idle", Headers, true, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.HalfClosedRemote },
        { "idle", Priority, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Idle },
        { "idle", Data, false, Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError, Http2StreamState.Idle },
        { "idle", Rst, false, Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError, Http2StreamState.Idle },
        { "idle", WindowUpdate, false, Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError, Http2StreamState.Idle },
        // reserved (local): RST_STREAM, PRIORITY, WINDOW_UPDATE only
        { "reserved-local", Rst, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "reserved-local", WindowUpdate, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.ReservedLocal },
        { "reserved-local", Headers, false, Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError, Http2StreamState.ReservedLocal },
        { "reserved-local", Data, false, Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError, Http2StreamState.ReservedLocal },
        // reserved (remote): HEADERS, RST_STREAM, PRIORITY only
        { "reserved-remote", Headers, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.HalfClosedLocal },
        { "reserved-remote", Headers, true, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "reserved-remote", Rst, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "reserved-remote", Data, false, Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError, Http2StreamState.ReservedRemote },
        { "reserved-remote", WindowUpdate, false, Http2StreamAction.ConnectionError, Http2ErrorCode.ProtocolError, Http2StreamState.ReservedRemote },
        // open: anything; END_STREAM half-closes, RST_STREAM closes
        { "open", Data, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Open },
        { "open", Data, true, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.HalfClosedRemote },
        { "open", Headers, true, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.HalfClosedRemote }, // trailers
        { "open", WindowUpdate, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Open },
        { "open", Rst, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        // half-closed (local): anything; END_STREAM closes
        { "half-closed-local", Data, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.HalfClosedLocal },
        { "half-closed-local", Data, true, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "half-closed-local", Rst, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        // half-closed (remote): only WINDOW_UPDATE, PRIORITY, RST_STREAM; else stream error STREAM_CLOSED
        { "half-closed-remote", Data, false, Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed, Http2StreamState.HalfClosedRemote },
        { "half-closed-remote", Headers, true, Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed, Http2StreamState.HalfClosedRemote },
        { "half-closed-remote", WindowUpdate, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.HalfClosedRemote },
        { "half-closed-remote", Priority, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.HalfClosedRemote },
        { "half-closed-remote", Rst, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        // closed after END_STREAM both ways: late WINDOW_UPDATE/RST_STREAM ignored, DATA/HEADERS a connection STREAM_CLOSED
        { "closed-end-stream", WindowUpdate, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-end-stream", Rst, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-end-stream", Priority, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-end-stream", Data, false, Http2StreamAction.ConnectionError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        { "closed-end-stream", Headers, false, Http2StreamAction.ConnectionError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        // closed by the peer's RST_STREAM: anything but PRIORITY is a stream error STREAM_CLOSED
        { "closed-received-rst", Data, false, Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        { "closed-received-rst", WindowUpdate, false, Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        { "closed-received-rst", Priority, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-received-rst", Rst, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed }, // §5.4.2: no RST for a RST
        { "closed-received-rst", Headers, true, Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        // the same, rebuilt once the stream's record is gone
        { "remembered-end-stream", Data, false, Http2StreamAction.ConnectionError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        { "remembered-end-stream", WindowUpdate, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "remembered-received-rst", Data, true, Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        { "remembered-sent-rst", Data, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        // closed, how not known (forgotten, or skipped by the peer): §6.1 for DATA, late control frames ignored
        { "closed-unknown", Data, false, Http2StreamAction.StreamError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        { "closed-unknown", WindowUpdate, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-unknown", Rst, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-unknown", Priority, false, Http2StreamAction.Accept, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-unknown", Headers, true, Http2StreamAction.ConnectionError, Http2ErrorCode.StreamClosed, Http2StreamState.Closed },
        // closed by our RST_STREAM: what the peer sent before seeing it is ignored
        { "closed-sent-rst", Data, true, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-sent-rst", Headers, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
        { "closed-sent-rst", WindowUpdate, false, Http2StreamAction.Ignore, Http2ErrorCode.NoError, Http2StreamState.Closed },
    };

    [Theory]
    [MemberData(nameof(Receives))]
    public void Received_frames_follow_section_5_1(string state, Http2FrameType type, bool endStream, Http2StreamAction action, Http2ErrorCode code, Http2StreamState next)
    {
        var s = In(state);
        var verdict = s.OnReceive(type, endStream);
        Assert.Equal(action, verdict.Action);
        Assert.Equal(code, verdict.Code);
        Assert.Equal(next, s.State);
    }

    public static TheoryData<string, Http2FrameType, bool, bool, Http2StreamState> Sends() => new()
    {
        { "idle", Headers, false, true, Http2StreamState.Open },
        { "idle", Headers, true, true, Http2StreamState.HalfClosedLocal },
        { "idle", Data, false, false, Http2StreamState.Idle },
        { "idle", Rst, false, false, Http2StreamState.Idle }, // §6.4: never for an idle stream
        { "reserved-local", Headers, false, true, Http2StreamState.HalfClosedRemote },
        { "reserved-local", Data, false, false, Http2StreamState.ReservedLocal },
        { "reserved-remote", WindowUpdate, false, true, Http2StreamState.ReservedRemote },
        { "reserved-remote", Headers, false, false, Http2StreamState.ReservedRemote },
        { "reserved-remote", Rst, false, true, Http2StreamState.Closed },
        { "open", Data, true, true, Http2StreamState.HalfClosedLocal },
        { "half-closed-local", Data, false, false, Http2StreamState.HalfClosedLocal },
        { "half-closed-local", WindowUpdate, false, true, Http2StreamState.HalfClosedLocal },
        { "half-closed-remote", Headers, false, true, Http2StreamState.HalfClosedRemote },
        { "half-closed-remote", Data, true, true, Http2StreamState.Closed },
        { "half-closed-remote", Rst, false, true, Http2StreamState.Closed },
        { "closed-end-stream", Data, false, false, Http2StreamState.Closed },
        { "closed-end-stream", Priority, false, true, Http2StreamState.Closed },
    };

    [Theory]
    [MemberData(nameof(Sends))]
    public void Sent_frames_follow_section_5_1(string state, Http2FrameType type, bool endStream, bool allowed, Http2StreamState next)
    {
        var s = In(state);
        Assert.Equal(allowed, s.OnSend(type, endStream));
        Assert.Equal(next, s.State);
    }

    [Fact]
    public void A_whole_request_and_response_walks_the_diagram()
    {
        var s = new Http2StreamStateMachine();
        Assert.Equal(Http2StreamAction.Accept, s.OnReceive(Headers, false).Action); // request head
        Assert.True(s.CanReceiveData && s.CanSendData);
        Assert.Equal(Http2StreamAction.Accept, s.OnReceive(Data, false).Action);
        Assert.Equal(Http2StreamAction.Accept, s.OnReceive(Headers, true).Action); // trailers end the request
        Assert.False(s.CanReceiveData);
        Assert.True(s.OnSend(Headers, false));
        Assert.True(s.OnSend(Data, false));
        Assert.True(s.OnSend(Data, true));
        Assert.Equal(Http2StreamState.Closed, s.State);
        Assert.False(s.CanSendData);
    }

    [Theory]
    [InlineData("closed-end-stream", Http2StreamClosure.EndStream)]
    [InlineData("closed-received-rst", Http2StreamClosure.ReceivedReset)]
    [InlineData("closed-sent-rst", Http2StreamClosure.SentReset)]
    [InlineData("open", Http2StreamClosure.None)]
    public void The_closure_tells_how_the_stream_closed(string state, Http2StreamClosure closure) => Assert.Equal(closure, In(state).Closure);

    [Fact]
    public void State_machine_is_small_enough_to_embed_per_stream()
    {
        Assert.True(System.Runtime.CompilerServices.Unsafe.SizeOf<Http2StreamStateMachine>() <= 2);
    }
}
