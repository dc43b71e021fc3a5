using FastProxy.Async;
using System.Buffers;
using System.IO.Pipelines;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Http2.Frames;
using FastProxy.Http2.HPack;
using FastProxy.Http2.Messages;
using FastProxy.Http2.Streams;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

/// <summary>
/// A client connection that opened with the HTTP/2 preface (h2c with prior knowledge, RFC 9113 §3.3), served as
/// HTTP/2: one read loop applies the frames (SETTINGS and ACK, PING, WINDOW_UPDATE, RST_STREAM, GOAWAY, PRIORITY
/// ignored, HEADERS + CONTINUATION through one HPACK decoder, DATA under flow control), and each request stream runs
/// as an HTTP/1.1 exchange on a stream-mode <see cref="Http1Connection"/> over in-memory pipes (see
/// <see cref="Http2Stream"/>), so routing, respond routes, balancing, retries, upstream pools and limits are the
/// HTTP/1.1 path's own. Each stream's response is converted back by its pump task (<see cref="Http2Connection"/>.Pump):
/// HEADERS, then DATA as the client's stream and connection windows allow; the response pipe is read only as fast as
/// the windows open, so a slow client holds back the upstream read instead of growing a buffer.
/// Frames go out under one write lock (HPACK's dynamic table requires header blocks in the order they are encoded).
/// </summary>
internal sealed partial class Http2Connection
{
    public const int MaxConcurrentStreams = 100;

    /// <summary>Streams the client may cancel (RST_STREAM on a stream still in progress) per second: the rapid-reset bound.</summary>
    public const int MaxResetsPerSecond = 200;

    /// <summary>
    /// Frames per second that cost the proxy work but carry no request (PING and SETTINGS, which must be answered;
    /// PRIORITY; empty DATA that does not end its stream): the control-frame flood bound (CVE-2019-9512, -9515, -9518).
    /// A browser sends a handful; beyond this many in one second: GOAWAY ENHANCE_YOUR_CALM.
    /// </summary>
    public const int MaxControlFramesPerSecond = 1000;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE, and the HPACK decoder's limit on a decoded list (the HPACK bomb defence).</summary>
    public const int MaxHeaderListSize = 64 * 1024;

    /// <summary>Our stream windows stay at the default; the connection window is raised so several uploads can proceed at once.</summary>
    private const int StreamReceiveWindow = Http2Limits.DefaultInitialWindowSize;
    private const int ConnectionReceiveWindow = 1024 * 1024;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Listener _listener;
    private readonly ProxyServices _services;
    private readonly byte[] _clientAddress;
    private readonly ulong _clientHash;
    private readonly string? _clientCertificateSubject;
    private readonly Http1Connection.Deadline _idleDeadline;

    private readonly Http2FrameReader _frames = new();
    private readonly HPackDecoder _decoder = new(Http2Limits.DefaultHeaderTableSize, MaxHeaderListSize);
    private readonly HPackEncoder _encoder = new();
    private readonly AsyncGate _writeLock = new();
    /// <summary>Control frames the read loop owes, sent once per read (under the write lock).</summary>
    private readonly ArrayBufferWriter<byte> _control = new(512);

    /// <summary>Guards the stream table and the send windows.</summary>
    private readonly object _sync = new();
    private readonly Dictionary<int, Http2Stream> _streams = [];
    private Http2FlowWindowsConnection _windows;
    private volatile int _peerMaxFrameSize = Http2Limits.DefaultMaxFrameSize;
    /// <summary>SETTINGS_HEADER_TABLE_SIZE from the peer, applied to the encoder at the next header block (-1: none pending).</summary>
    private long _pendingPeerTableSize = -1;
    private int _peerInitialWindow = Http2Limits.DefaultInitialWindowSize;

    /// <summary>The highest stream id the client opened: GOAWAY's last stream id.</summary>
    private int _lastStreamId;
    /// <summary>The final GOAWAY went out: streams above <see cref="_lastStreamId"/> are ignored from here (§6.8).</summary>
    private volatile bool _goAwaySent;
    /// <summary>
    /// Graceful shutdown, step one done: GOAWAY with the largest stream id and a PING went out (read loop only).
    /// </summary>
    private bool _shutdownAnnounced;
    /// <summary>When the final GOAWAY goes out if the PING ACK has not come back by then (Heartbeat ms).</summary>
    private long _finalGoAwayDueMs = long.MaxValue;
    private volatile bool _peerGoAway;
    private volatile bool _draining;
    private volatile bool _closing;
    private int _runningPumps;
    private long _resetWindowStartMs;
    private int _resetsInWindow;
    private long _controlWindowStartMs;
    private int _controlFramesInWindow;

    // The field block being decoded (HEADERS then CONTINUATIONs): its stream (null: decoded only to keep HPACK in step).
    private Http2Stream? _blockStream;
    private bool _blockEndStream;

    public Http2Connection(PipeReader input, PipeWriter output, Listener listener, ProxyServices services,
        ReadOnlySpan<byte> clientAddress, ulong clientHash, string? clientCertificateSubject, Http1Connection.Deadline idleDeadline)
    {
        Generation = services.Generation;
        _clientCertificateSubject = clientCertificateSubject;
        _input = input;
        _output = output;
        _listener = listener;
        _services = services;
        _clientAddress = clientAddress.ToArray();
        _clientHash = clientHash;
        _idleDeadline = idleDeadline;
        _windows = new Http2FlowWindowsConnection(Http2Limits.DefaultInitialWindowSize, ConnectionReceiveWindow);
    }

    private ListenerRuntime Runtime => ((Http1Dispatcher)_listener.Dispatcher).Runtime;

    /// <summary>
    /// The configuration generation this connection started under: a reload (SIGHUP) makes it stale, and it is then
    /// shut down gracefully like on a stop, so that clients reconnect to the new configuration (its certificates,
    /// its listener limits) instead of keeping an old connection for hours.
    /// </summary>
    public int Generation { get; }

    /// <summary>
    /// Our grace before the final GOAWAY when the client does not answer the PING: at least a round trip (§6.8), and
    /// long enough for a client stalled by the machine for a moment.
    /// </summary>
    private const long FinalGoAwayDelayMs = 1_000;

    /// <summary>The opaque data of the graceful-shutdown PING ("fp-drain"), told apart from a client's own PINGs' ACKs.</summary>
    private const ulong DrainPingData = 0x66702D647261696E;

    /// <summary>
    /// The host is stopping (SIGTERM) or reloaded (SIGHUP): graceful shutdown, as RFC 9113 §6.8 recommends, in two
    /// steps. First GOAWAY NO_ERROR with the largest stream id (2^31-1), and a PING: the client opens no more
    /// streams, and a request it sent before it read that GOAWAY is still served. When the PING's ACK comes back
    /// (every stream the client opened before reading the GOAWAY has arrived before it), or after
    /// <see cref="FinalGoAwayDelayMs"/> without it, the final GOAWAY names the last stream really processed. The
    /// streams in flight finish; the connection closes when the last one has. Called on every heartbeat while
    /// draining: it also wakes the read loop when the final GOAWAY is due.
    /// </summary>
    public void OnDraining()
    {
        if (!_draining)
        {
            _draining = true;
            _input.CancelPendingRead();
            return;
        }
        if (!_goAwaySent && Heartbeat.NowMs >= Volatile.Read(ref _finalGoAwayDueMs)) _input.CancelPendingRead();
    }

    /// <summary>The next step of a graceful shutdown (read loop only; the frames go out with the next control flush).</summary>
    private void AdvanceGoAway()
    {
        if (_goAwaySent) return;
        if (!_shutdownAnnounced)
        {
            _shutdownAnnounced = true;
            Http2FrameWriter.WriteGoAway(_control, int.MaxValue, Http2ErrorCode.NoError);
            Http2FrameWriter.WritePing(_control, DrainPingData, ack: false);
            Volatile.Write(ref _finalGoAwayDueMs, Heartbeat.NowMs + FinalGoAwayDelayMs);
            return;
        }
        if (Heartbeat.NowMs >= Volatile.Read(ref _finalGoAwayDueMs)) SendFinalGoAway();
    }

    private void SendFinalGoAway()
    {
        Http2FrameWriter.WriteGoAway(_control, _lastStreamId, Http2ErrorCode.NoError);
        _goAwaySent = true;
    }

    public async ValueTask RunAsync()
    {
        // Our SETTINGS first (§3.4), and a larger connection window.
        Http2FrameWriter.WriteSettings(_control,
        [
            new(Http2SettingsParameter.MaxConcurrentStreams, MaxConcurrentStreams),
            new(Http2SettingsParameter.InitialWindowSize, StreamReceiveWindow),
            new(Http2SettingsParameter.MaxFrameSize, Http2Limits.DefaultMaxFrameSize),
            new(Http2SettingsParameter.MaxHeaderListSize, MaxHeaderListSize),
        ]);
        Http2FrameWriter.WriteWindowUpdate(_control, 0, ConnectionReceiveWindow - Http2Limits.DefaultInitialWindowSize);
        bool prefaceDone = false;
        bool settingsSeen = false;
        try
        {
            if (!await FlushControlAsync()) return;
            while (true)
            {
                if (StreamCount == 0) _idleDeadline.Arm(_input, Runtime.IdleTimeoutMs);
                else _idleDeadline.Disarm();
                var result = await _input.ReadAsync();
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    if (_idleDeadline.TimedOut && StreamCount == 0 && !_goAwaySent)
                    {
                        // idle_timeout with nothing in flight: one GOAWAY, as nginx does; a request crossing it is
                        // not processed, and the client knows it may retry it (its id is above the last one).
                        _draining = true;
                        SendFinalGoAway();
                    }
                    else if (_draining)
                    {
                        AdvanceGoAway();
                    }
                }
                if (!prefaceDone)
                {
                    // Matched by Http1Connection already; it consumed nothing.
                    if (buffer.Length < Http2Preface.Length)
                    {
                        if (result.IsCompleted) return;
                        _input.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }
                    buffer = buffer.Slice(Http2Preface.Length);
                    prefaceDone = true;
                }

                Http2ErrorCode failure = Http2ErrorCode.NoError;
                Http2ReadStatus status;
                while ((status = _frames.TryRead(ref buffer, out Http2Frame frame, out Http2FrameError error)) != Http2ReadStatus.NeedMore)
                {
                    if (status == Http2ReadStatus.Error)
                    {
                        if (error.IsConnectionError)
                        {
                            failure = error.Code;
                            Log.Http2ConnectionError(_listener.Name, error.Code.ToString(), error.Reason.ToString());
                            break;
                        }
                        ResetStream(error.StreamId, error.Code);
                        continue;
                    }
                    if (!settingsSeen)
                    {
                        // §3.4: the preface is followed by SETTINGS.
                        if (frame.Type != Http2FrameType.Settings || frame.IsAck)
                        {
                            failure = Http2ErrorCode.ProtocolError;
                            break;
                        }
                        settingsSeen = true;
                    }
                    failure = OnFrame(ref frame);
                    if (failure != Http2ErrorCode.NoError)
                    {
                        Log.Http2ConnectionError(_listener.Name, failure.ToString(), frame.Type.ToString());
                        break;
                    }
                }
                _input.AdvanceTo(buffer.Start, buffer.End);
                if (failure != Http2ErrorCode.NoError)
                {
                    // §5.4.1: GOAWAY with the last stream we may have processed, then close.
                    Http2FrameWriter.WriteGoAway(_control, _lastStreamId, failure);
                    _goAwaySent = true;
                    await FlushControlAsync();
                    return;
                }
                if (!await FlushControlAsync()) return;
                if (result.IsCompleted) return;
                if ((_goAwaySent || _peerGoAway) && StreamCount == 0)
                {
                    // The last streams' final frames may still wait for the shared flush: out they go before the close.
                    await FlushControlAsync(force: true);
                    return;
                }
            }
        }
        finally
        {
            await ShutdownAsync();
        }
    }

    private int StreamCount
    {
        get
        {
            lock (_sync) return _streams.Count;
        }
    }

    /// <summary>One frame. Returns a connection error code, or NoError.</summary>
    private Http2ErrorCode OnFrame(ref Http2Frame frame)
    {
        if (frame.IsExtension) return Http2ErrorCode.NoError; // §5.5: unknown types are ignored
        if (IsControlOnly(in frame) && ++_controlFramesInWindow > MaxControlFramesPerSecond && ControlWindowFull())
        {
            return Http2ErrorCode.EnhanceYourCalm;
        }
        switch (frame.Type)
        {
            case Http2FrameType.Settings:
                return frame.IsAck ? Http2ErrorCode.NoError : OnSettings(in frame);
            case Http2FrameType.Ping:
                if (!frame.IsAck) Http2FrameWriter.WritePing(_control, frame.PingData, ack: true);
                else if (frame.PingData == DrainPingData && _shutdownAnnounced && !_goAwaySent) SendFinalGoAway();
                return Http2ErrorCode.NoError;
            case Http2FrameType.GoAway:
                // The client will open no more streams; those in flight finish.
                _peerGoAway = true;
                return Http2ErrorCode.NoError;
            case Http2FrameType.WindowUpdate:
                return OnWindowUpdate(in frame);
            case Http2FrameType.Priority:
                // Deprecated (§5.3.2): streams are served in no particular order. An idle stream stays idle.
                return Http2ErrorCode.NoError;
            case Http2FrameType.PushPromise:
                return Http2ErrorCode.ProtocolError; // §8.4: a client cannot push
            case Http2FrameType.RstStream:
                return OnRstStream(in frame);
            case Http2FrameType.Headers:
                return OnHeaders(ref frame);
            case Http2FrameType.Continuation:
                return DecodeBlock(ref frame);
            case Http2FrameType.Data:
                return OnData(in frame);
            default:
                return Http2ErrorCode.NoError;
        }
    }

    /// <summary>A frame that asks work of the proxy and carries no request (see <see cref="MaxControlFramesPerSecond"/>).</summary>
    private static bool IsControlOnly(in Http2Frame frame) => frame.Type switch
    {
        Http2FrameType.Ping or Http2FrameType.Settings => !frame.IsAck,
        Http2FrameType.Priority => true,
        Http2FrameType.Data => frame.Length == 0 && !frame.EndStream,
        _ => false,
    };

    /// <summary>The count went over the bound: true if that happened within one second, else a new second starts.</summary>
    private bool ControlWindowFull()
    {
        long now = Heartbeat.NowMs;
        if (now - _controlWindowStartMs < 1000) return true;
        _controlWindowStartMs = now;
        _controlFramesInWindow = 1;
        return false;
    }

    private Http2ErrorCode OnSettings(in Http2Frame frame)
    {
        foreach (var setting in new Http2SettingsEnumerator(frame.Payload))
        {
            switch (setting.Parameter)
            {
                case Http2SettingsParameter.InitialWindowSize:
                {
                    int size = (int)setting.Value;
                    lock (_sync)
                    {
                        // §6.9.2: open streams' windows move by the difference, possibly below zero.
                        long delta = (long)size - _peerInitialWindow;
                        foreach (var stream in _streams.Values)
                        {
                            if (!stream.SendWindow.TryAdjust(delta)) return Http2ErrorCode.FlowControlError;
                        }
                        _peerInitialWindow = size;
                        WakeAllLocked();
                    }
                    break;
                }
                case Http2SettingsParameter.MaxFrameSize:
                    _peerMaxFrameSize = (int)setting.Value;
                    break;
                case Http2SettingsParameter.HeaderTableSize:
                    Volatile.Write(ref _pendingPeerTableSize, setting.Value);
                    break;
            }
        }
        Http2FrameWriter.WriteSettingsAck(_control);
        return Http2ErrorCode.NoError;
    }

    private Http2ErrorCode OnWindowUpdate(in Http2Frame frame)
    {
        lock (_sync)
        {
            if (frame.StreamId == 0)
            {
                if (!_windows.Send.TryIncrease(frame.WindowIncrement)) return Http2ErrorCode.FlowControlError;
                WakeAllLocked();
                return Http2ErrorCode.NoError;
            }
            if (!_streams.TryGetValue(frame.StreamId, out var stream))
            {
                return OnClosedOrIdleLocked(frame.StreamId, ClosedOrIdleLocked(frame.StreamId, Http2FrameType.WindowUpdate, endStream: false));
            }
            if (!stream.SendWindow.TryIncrease(frame.WindowIncrement))
            {
                ResetStreamLocked(stream, Http2ErrorCode.FlowControlError);
                return Http2ErrorCode.NoError;
            }
            WakeLocked(stream);
            return Http2ErrorCode.NoError;
        }
    }

    private Http2ErrorCode OnRstStream(in Http2Frame frame)
    {
        lock (_sync)
        {
            if (!_streams.TryGetValue(frame.StreamId, out var stream))
            {
                // Never answered with a RST_STREAM (§5.4.2); on an idle stream, a connection error.
                return OnClosedOrIdleLocked(frame.StreamId, ClosedOrIdleLocked(frame.StreamId, Http2FrameType.RstStream, endStream: false));
            }
            stream.State.OnReceive(Http2FrameType.RstStream, endStream: false);
            AbortLocked(stream);
        }
        // Rapid reset (CVE-2023-44487): opening and cancelling streams costs the client two frames and us a routed,
        // possibly forwarded request each time, and MAX_CONCURRENT_STREAMS never binds. Cancelling is normal; more
        // than MaxResetsPerSecond streams cancelled in a second is not.
        long now = Heartbeat.NowMs;
        if (now - _resetWindowStartMs >= 1000)
        {
            _resetWindowStartMs = now;
            _resetsInWindow = 0;
        }
        if (++_resetsInWindow > MaxResetsPerSecond) return Http2ErrorCode.EnhanceYourCalm;
        return Http2ErrorCode.NoError;
    }

    private Http2ErrorCode OnHeaders(ref Http2Frame frame)
    {
        int id = frame.StreamId;
        if ((id & 1) == 0) return Http2ErrorCode.ProtocolError; // §5.1.1: clients open odd streams
        Http2Stream? target = null;
        lock (_sync)
        {
            if (_streams.TryGetValue(id, out var existing))
            {
                // A second field block on an open stream: trailers, which must end the stream (§8.1).
                var verdict = existing.State.OnReceive(Http2FrameType.Headers, frame.EndStream);
                if (verdict.Action == Http2StreamAction.ConnectionError) return verdict.Code;
                if (verdict.Action == Http2StreamAction.StreamError || !frame.EndStream)
                {
                    ResetStreamLocked(existing, verdict.Action == Http2StreamAction.StreamError ? verdict.Code : Http2ErrorCode.ProtocolError);
                }
                else
                {
                    existing.InTrailers = true;
                    target = existing;
                }
            }
            else if (id <= _lastStreamId)
            {
                // A closed stream: late trailers after our reset are ignored, anything else is an error (§5.1). The
                // block is decoded all the same, with no stream (HPACK state).
                var failure = OnClosedOrIdleLocked(id, ClosedOrIdleLocked(id, Http2FrameType.Headers, frame.EndStream));
                if (failure != Http2ErrorCode.NoError) return failure;
            }
            else if (_goAwaySent)
            {
                // §6.8: streams opened after our GOAWAY are ignored (their block is still decoded: HPACK state).
            }
            else if (_streams.Count >= MaxConcurrentStreams)
            {
                // §5.1.2: over SETTINGS_MAX_CONCURRENT_STREAMS; the client may retry it.
                _closed.Opened(_lastStreamId, id);
                _lastStreamId = id;
                Http2FrameWriter.WriteRstStream(_control, id, Http2ErrorCode.RefusedStream);
                _closed.Record(id, id, Http2StreamClosure.SentReset);
            }
            else
            {
                _closed.Opened(_lastStreamId, id);
                _lastStreamId = id;
                var stream = RentStreamLocked();
                stream.Init(this, id, _peerInitialWindow, StreamReceiveWindow);
                stream.State.OnReceive(Http2FrameType.Headers, frame.EndStream);
                _streams.Add(id, stream);
                target = stream;
            }
        }
        _blockStream = target;
        _blockEndStream = frame.EndStream;
        return DecodeBlock(ref frame);
    }

    private struct FieldSink : IHPackHeaderHandler
    {
        public Http2Stream? Stream;

        public readonly void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Stream?.OnField(name, value);
    }

    private Http2ErrorCode DecodeBlock(ref Http2Frame frame)
    {
        var sink = new FieldSink { Stream = _blockStream };
        // Any HPACK error (including the header list limit) leaves the dynamic table untrustworthy: connection error (§4.3).
        if (_decoder.Decode(frame.Payload, frame.EndHeaders, ref sink) != HPackError.None) return Http2ErrorCode.CompressionError;
        if (!frame.EndHeaders) return Http2ErrorCode.NoError;
        var stream = _blockStream;
        _blockStream = null;
        if (stream is null || stream.Aborted) return Http2ErrorCode.NoError;

        if (stream.InTrailers)
        {
            if (stream.Validator.Error != Http2FieldError.None)
            {
                ResetStream(stream, Http2ErrorCode.ProtocolError);
                return Http2ErrorCode.NoError;
            }
            EndRequest(stream);
            return Http2ErrorCode.NoError;
        }

        if (!stream.Accept(_blockEndStream))
        {
            // §8.1.1: malformed: a stream error, never forwarded.
            Log.Http2StreamRefused(_listener.Name, stream.Id, stream.Validator.Error.ToString());
            ResetStream(stream, Http2ErrorCode.ProtocolError);
            return Http2ErrorCode.NoError;
        }
        stream.Started = true;
        // The pump starts when the exchange first hands over HTTP/1.1 bytes; most small responses never need it
        // (Http2ResponseWriter.AnswerAsync).
        var exchange = _services.ConnectionPool.Get();
        var response = exchange.StreamResponse(this, stream);
        if (_blockEndStream && stream.HeadLength <= Http2BufferedRequest.Capacity)
        {
            // No body: the head is the whole request. The exchange reads it from one block and starts here, on the
            // read loop, without the request pipe; it runs until it waits for its upstream (or has answered).
            var request = exchange.StreamRequest();
            stream.WriteHead(request);
            lock (stream.Gate)
            {
                stream.RequestEnded = true;
                stream.WriterCompleted = true; // there is no request pipe
            }
            exchange.StartStream(stream, request, response, _listener, _services, _clientAddress, _clientHash, _clientCertificateSubject);
            return Http2ErrorCode.NoError;
        }
        var pipe = stream.OpenRequest();
        stream.WriteHead(pipe.Writer);
        exchange.StartStream(stream, pipe.Reader, response, _listener, _services, _clientAddress, _clientHash, _clientCertificateSubject);
        if (_blockEndStream) EndRequest(stream);
        else FlushRequest(stream, 0);
        return Http2ErrorCode.NoError;
    }

    private Http2ErrorCode OnData(in Http2Frame frame)
    {
        // The connection window counts every DATA frame, whatever its stream (§6.9); credit comes back at once,
        // since each stream's own window bounds what it may hold.
        if (!_windows.Receive.TryReceive(frame.Length)) return Http2ErrorCode.FlowControlError;
        int credit = _windows.Receive.Release(frame.Length);
        if (credit > 0) Http2FrameWriter.WriteWindowUpdate(_control, 0, credit);

        Http2Stream? stream;
        lock (_sync)
        {
            if (!_streams.TryGetValue(frame.StreamId, out stream))
            {
                // Idle: PROTOCOL_ERROR. Closed: as it was closed (§5.1); its octets counted and given back above.
                return OnClosedOrIdleLocked(frame.StreamId, ClosedOrIdleLocked(frame.StreamId, Http2FrameType.Data, frame.EndStream));
            }
            var verdict = stream.State.OnReceive(Http2FrameType.Data, frame.EndStream);
            if (verdict.Action == Http2StreamAction.ConnectionError) return verdict.Code;
            if (verdict.Action == Http2StreamAction.Ignore) return Http2ErrorCode.NoError;
            if (verdict.Action == Http2StreamAction.StreamError)
            {
                ResetStreamLocked(stream, verdict.Code);
                return Http2ErrorCode.NoError;
            }
        }
        bool ok;
        lock (stream.Gate)
        {
            if (stream.WriterCompleted) return Http2ErrorCode.NoError;
            if (!stream.ReceiveWindow.TryReceive(frame.Length))
            {
                ok = false;
            }
            else
            {
                ok = stream.WriteData(frame.Payload);
            }
        }
        if (!ok)
        {
            ResetStream(stream, stream.Received > stream.DeclaredLength && stream.DeclaredLength >= 0 ? Http2ErrorCode.ProtocolError : Http2ErrorCode.FlowControlError);
            return Http2ErrorCode.NoError;
        }
        if (frame.EndStream) EndRequest(stream);
        else FlushRequest(stream, frame.Length);
        return Http2ErrorCode.NoError;
    }

    /// <summary>END_STREAM: the last chunk, flush, and complete the request pipe once the exchange has taken it all.</summary>
    private void EndRequest(Http2Stream stream)
    {
        bool ok;
        lock (stream.Gate)
        {
            stream.RequestEnded = true;
            // The response may have finished first and closed the request side (§8.1): nothing more to pass on.
            if (stream.WriterCompleted) return;
            ok = stream.WriteEnd();
            stream.CompleteAfterFlush = true;
        }
        if (!ok)
        {
            ResetStream(stream, Http2ErrorCode.ProtocolError);
            return;
        }
        FlushRequest(stream, 0);
    }

    /// <summary>
    /// Hands written request bytes to the exchange. Stream credit (WINDOW_UPDATE) goes back only once the pipe has
    /// room again, so a slow upstream holds back the client's upload instead of growing the pipe.
    /// </summary>
    private void FlushRequest(Http2Stream stream, int consumed)
    {
        ValueTask<FlushResult> flush;
        // The flush (and a loop that waits for it) owns the record while it runs; a stream already over needs none.
        if (!stream.TryRetain()) return;
        lock (stream.Gate)
        {
            stream.OwedCredit += consumed;
            if (stream.Flushing || stream.WriterCompleted)
            {
                stream.Release();
                return;
            }
            flush = stream.Request!.Writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                stream.Flushing = true;
                _ = FlushLoopAsync(stream, flush);
                return;
            }
        }
        AfterFlush(stream, flush.IsCompletedSuccessfully && !flush.Result.IsCompleted, inline: true);
        stream.Release();
    }

    /// <summary>Owns the record (taken by <see cref="FlushRequest"/>) until it ends.</summary>
    private async Task FlushLoopAsync(Http2Stream stream, ValueTask<FlushResult> flush)
    {
        try
        {
            await FlushLoopCoreAsync(stream, flush);
        }
        finally
        {
            stream.Release();
        }
    }

    private async Task FlushLoopCoreAsync(Http2Stream stream, ValueTask<FlushResult> flush)
    {
        while (true)
        {
            bool open;
            try
            {
                open = !(await flush).IsCompleted;
            }
            catch (Exception)
            {
                open = false;
            }
            lock (stream.Gate)
            {
                if (!open || stream.WriterCompleted)
                {
                    stream.Flushing = false;
                    break;
                }
                if (stream.OwedCredit > 0 && !stream.RequestEnded)
                {
                    // More DATA arrived while we waited: push it too before giving credit.
                    flush = stream.Request!.Writer.FlushAsync();
                    if (!flush.IsCompleted) continue;
                }
                stream.Flushing = false;
            }
            AfterFlush(stream, open, inline: false);
            return;
        }
        AfterFlush(stream, open: false, inline: false);
    }

    private void AfterFlush(Http2Stream stream, bool open, bool inline)
    {
        int credit = 0;
        lock (stream.Gate)
        {
            if (stream.CompleteAfterFlush || !open)
            {
                if (!stream.WriterCompleted)
                {
                    stream.WriterCompleted = true;
                    stream.Request!.Writer.Complete();
                }
            }
            else if (stream.OwedCredit > 0)
            {
                credit = stream.ReceiveWindow.Release(stream.OwedCredit);
                stream.OwedCredit = 0;
            }
        }
        if (credit <= 0) return;
        if (inline) Http2FrameWriter.WriteWindowUpdate(_control, stream.Id, credit);
        else if (!stream.Aborted) _ = SendWindowUpdateAsync(stream.Id, credit);
    }

    /// <summary>By id: the stream may be over by the time the write lock is free (a WINDOW_UPDATE for a closed stream is harmless, §6.9).</summary>
    private async Task SendWindowUpdateAsync(int streamId, int credit)
    {
        await _writeLock.EnterAsync();
        try
        {
            if (_closing) return;
            Http2FrameWriter.WriteWindowUpdate(_output, streamId, credit);
            await _output.FlushAsync();
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>A stream error we detected (§5.4.2): RST_STREAM and drop the stream.</summary>
    private void ResetStream(int id, Http2ErrorCode code)
    {
        lock (_sync)
        {
            if (_streams.TryGetValue(id, out var stream))
            {
                ResetStreamLocked(stream, code);
                return;
            }
        }
        Http2FrameWriter.WriteRstStream(_control, id, code);
    }

    private void ResetStream(Http2Stream stream, Http2ErrorCode code)
    {
        lock (_sync) ResetStreamLocked(stream, code);
    }

    /// <summary>Read loop only (writes to <see cref="_control"/>).</summary>
    private void ResetStreamLocked(Http2Stream stream, Http2ErrorCode code)
    {
        if (stream.Aborted) return;
        stream.State.OnSend(Http2FrameType.RstStream, endStream: false);
        Http2FrameWriter.WriteRstStream(_control, stream.Id, code);
        AbortLocked(stream);
    }

    /// <summary>Ends a stream's exchange: its request pipe completes, its pump stops, its upstream is cut; it leaves the table.</summary>
    private void AbortLocked(Http2Stream stream)
    {
        stream.Aborted = true;
        RemoveLocked(stream);
        lock (stream.Gate)
        {
            if (!stream.WriterCompleted)
            {
                stream.WriterCompleted = true;
                stream.Request?.Writer.Complete(); // none: bodiless (Http2BufferedRequest), or not started
            }
        }
        // A stream not started yet has no pipes; one whose exchange has not written yet has no response pipe (a pump
        // started later sees the stream aborted).
        if (stream.Started)
        {
            stream.Response?.Reader.CancelPendingRead();
            WakeLocked(stream);
            stream.CancelExchange();
        }
    }

    private void RemoveLocked(Http2Stream stream)
    {
        if (!_streams.Remove(stream.Id)) return;
        // Its late frames are judged by how it closed (§5.1). Not closed by then: we stopped it (the connection is
        // closing), and whatever the client still sends for it is ignored as after a reset.
        var state = stream.State;
        _closed.Record(stream.Id, _lastStreamId, state.State == Http2StreamState.Closed ? state.Closure : Http2StreamClosure.SentReset);
        stream.Release(); // the table's ownership
        if (_streams.Count > 0) return;
        // No stream open: keep a few records for the next streams, not one per stream the last burst had.
        while (_freeCount > IdleFreeStreams) _free[--_freeCount] = null;
        // The last stream is gone: idle_timeout runs again; a GOAWAY'd connection can close now.
        if (_goAwaySent || _peerGoAway || _draining) _input.CancelPendingRead();
        else _idleDeadline.Arm(_input, Runtime.IdleTimeoutMs);
    }

    /// <summary>
    /// Stream records no one holds any more (see <see cref="Http2Stream.Owners"/>), for the read loop's next streams:
    /// with as many kept as the client keeps streams open, a connection's steady state allocates none. Guarded by
    /// <see cref="_sync"/>; trimmed to <see cref="IdleFreeStreams"/> whenever the last open stream ends.
    /// </summary>
    private readonly Http2Stream?[] _free = new Http2Stream?[MaxConcurrentStreams];
    private int _freeCount;
    /// <summary>Kept when no stream is open: enough for a browser's or a small client's bursts (~300 bytes each).</summary>
    private const int IdleFreeStreams = 16;

    /// <summary>Read loop only, under the lock: a kept record, or a new one.</summary>
    private Http2Stream RentStreamLocked()
    {
        if (_freeCount == 0) return new Http2Stream();
        var stream = _free[--_freeCount]!;
        _free[_freeCount] = null;
        return stream;
    }

    /// <summary>The last owner let go of <paramref name="stream"/> (any thread).</summary>
    internal void Recycle(Http2Stream stream)
    {
        lock (_sync)
        {
            if (_freeCount < _free.Length) _free[_freeCount++] = stream;
        }
    }

    private static void WakeLocked(Http2Stream stream)
    {
        if (!stream.WaitingForWindow) return;
        stream.WaitingForWindow = false;
        stream.WindowSignal!.Release();
    }

    private void WakeAllLocked()
    {
        foreach (var stream in _streams.Values) WakeLocked(stream);
    }

    /// <summary>
    /// Sends what the read loop wrote to <see cref="_control"/>, and with it any frames the pumps wrote that wait for
    /// the shared flush (<paramref name="force"/>: even when there is no control frame). False: the client is gone.
    /// </summary>
    private async ValueTask<bool> FlushControlAsync(bool force = false)
    {
        if (_control.WrittenCount == 0 && !force) return true;
        await _writeLock.EnterAsync();
        try
        {
            _output.Write(_control.WrittenSpan);
            _control.Clear();
            var flushed = await _output.FlushAsync();
            return !flushed.IsCompleted && !flushed.IsCanceled;
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            return false;
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>The connection is over: every stream still running is aborted, and their pumps end before we return.</summary>
    private async ValueTask ShutdownAsync()
    {
        _idleDeadline.Disarm();
        lock (_sync)
        {
            foreach (var stream in _streams.Values.ToArray()) AbortLocked(stream);
        }
        // A pump blocked on a client that stopped reading is released; new writes are refused from here.
        _closing = true;
        _output.CancelPendingFlush();
        long due = Heartbeat.NowMs + 5_000;
        while (Volatile.Read(ref _runningPumps) > 0 && Heartbeat.NowMs < due) await Task.Delay(10);
    }

    internal static bool IsConnectionError(Exception ex)
        => ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException
            or Pipelines.Sockets.Unofficial.ConnectionResetException or Pipelines.Sockets.Unofficial.ConnectionAbortedException or InvalidOperationException;
}

/// <summary>The connection-level windows: what we may send, what the client may send.</summary>
internal struct Http2FlowWindowsConnection(int send, int receive)
{
    public FastProxy.Http2.Streams.Http2SendWindow Send = new(send);
    public FastProxy.Http2.Streams.Http2ReceiveWindow Receive = new(receive);
}
