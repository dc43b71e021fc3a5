using System.Buffers;
using System.IO.Pipelines;
using FastProxy.Diagnostics;
using FastProxy.Http2.Frames;
using FastProxy.Http2.HPack;
using FastProxy.Http2.Streams;

namespace FastProxy.Upstreams;

/// <summary>
/// One HTTP/2 connection to an upstream server (RFC 9113), the proxy being the client: the connection preface and our
/// SETTINGS (prior knowledge for h2c, §3.3; after ALPN h2 for TLS, §3.2), then one read loop that applies the server's
/// frames: SETTINGS (acknowledged; stream limit, initial window, frame size, table size), PING (answered),
/// WINDOW_UPDATE, GOAWAY, RST_STREAM, and HEADERS/CONTINUATION/DATA handed to their <see cref="Http2UpstreamStream"/>.
/// Frames go out under one write lock (HPACK's dynamic table needs header blocks on the wire in the order they are
/// encoded, and stream ids must rise in the order HEADERS are sent). Flow control both ways: DATA is sent only
/// within the server's stream and connection windows; the server's DATA is credited back per stream only once the
/// client side has taken it from the stream's response pipe (the connection window is credited at once: the
/// stream windows bound what can be buffered).
/// </summary>
internal sealed class Http2UpstreamConnection
{
    /// <summary>Our SETTINGS_INITIAL_WINDOW_SIZE: what one stream's response may have buffered in the proxy.</summary>
    public const int StreamReceiveWindow = 256 * 1024;

    /// <summary>The connection window: credited as DATA arrives, so it only has to cover the streams in flight.</summary>
    private const int ConnectionReceiveWindow = 16 * 1024 * 1024;

    /// <summary>Our SETTINGS_MAX_HEADER_LIST_SIZE, and the HPACK decoder's bound on a response head or trailers.</summary>
    public const int MaxHeaderListSize = 64 * 1024;

    /// <summary>Streams per connection when the server names no limit (RFC 9113 §6.5.2 suggests at least 100).</summary>
    public const int DefaultMaxStreams = 100;

    private readonly Http2UpstreamPool _pool;
    private readonly IDuplexPipe _transport;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Http2FrameReader _frames = new();
    private readonly HPackDecoder _decoder = new(Http2Limits.DefaultHeaderTableSize, MaxHeaderListSize);
    private readonly HPackEncoder _encoder = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    /// <summary>Frames the read loop owes (ACKs, PING replies, WINDOW_UPDATEs, resets), sent once per read.</summary>
    private readonly ArrayBufferWriter<byte> _control = new(256);
    private readonly TaskCompletionSource _settingsReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Guards the stream table, the send windows and the counters below.</summary>
    private readonly Lock _sync = new();
    private readonly Dictionary<int, Http2UpstreamStream> _streams = [];
    private Http2SendWindow _sendWindow = new(Http2Limits.DefaultInitialWindowSize);
    private Http2ReceiveWindow _receiveWindow = new(ConnectionReceiveWindow);
    private int _peerInitialWindow = Http2Limits.DefaultInitialWindowSize;
    private volatile int _peerMaxFrameSize = Http2Limits.DefaultMaxFrameSize;
    private long _pendingPeerTableSize = -1;
    private int _maxStreams = DefaultMaxStreams;
    private int _active;
    private int _nextStreamId = 1;
    private bool _ready;
    private volatile bool _goAway;
    private volatile bool _closed;
    private bool _closeWhenIdle;
    private long _idleSinceMs;

    // The field block being decoded (HEADERS then CONTINUATIONs) and its stream (null: decoded only to keep HPACK in step).
    private Http2UpstreamStream? _blockStream;
    private bool _blockEndStream;

    private Http2UpstreamConnection(Http2UpstreamPool pool, IDuplexPipe transport)
    {
        _pool = pool;
        _transport = transport;
        _input = transport.Input;
        _output = transport.Output;
        Secure = pool.Server.Tls is not null;
        _idleSinceMs = Transport.Heartbeat.NowMs;
    }

    /// <summary>Over TLS (:scheme https) or not (http).</summary>
    public bool Secure { get; }

    public UpstreamServer Server => _pool.Server;
    public string UpstreamName => _pool.UpstreamName;

    /// <summary>
    /// Connects, sends the preface and our SETTINGS, and waits for the server's SETTINGS (§3.4): until they arrive its
    /// stream limit is unknown, and a server that does not send them is not speaking HTTP/2 (an HTTP/1.1-only server
    /// answers the preface with a 400, or closes) — <see cref="UpstreamProtocolException"/>, within the timeout.
    /// </summary>
    public static async ValueTask<Http2UpstreamConnection> ConnectAsync(Http2UpstreamPool pool, TimeSpan timeout)
    {
        long started = Environment.TickCount64;
        var transport = await UpstreamConnection.ConnectTransportAsync(pool.Server, timeout, http2: true).ConfigureAwait(false);
        var connection = new Http2UpstreamConnection(pool, transport);
        connection.Start();
        var left = timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
        try
        {
            await connection._settingsReceived.Task.WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            connection.Close();
            throw new UpstreamProtocolException("no HTTP/2 SETTINGS from the server within connect_timeout");
        }
        catch (UpstreamProtocolException)
        {
            connection.Close();
            throw;
        }
        return connection;
    }

    private void Start()
    {
        _output.Write(Http2Preface.ClientPreface);
        Http2FrameWriter.WriteSettings(_output,
        [
            // §8.4: no server push to a proxy that would have nowhere to send it.
            new(Http2SettingsParameter.EnablePush, 0),
            new(Http2SettingsParameter.InitialWindowSize, StreamReceiveWindow),
            new(Http2SettingsParameter.MaxHeaderListSize, MaxHeaderListSize),
        ]);
        Http2FrameWriter.WriteWindowUpdate(_output, 0, ConnectionReceiveWindow - Http2Limits.DefaultInitialWindowSize);
        _ = RunAsync();
    }

    /// <summary>A stream slot, if this connection takes new streams and is below the server's limit.</summary>
    public Http2UpstreamStream? TryReserveStream()
    {
        lock (_sync)
        {
            if (!_ready || _goAway || _closed || _closeWhenIdle || _active >= _maxStreams || _nextStreamId <= 0) return null;
            _active++;
        }
        return new Http2UpstreamStream(this);
    }

    public bool IsIdleSince(long cutoffMs)
    {
        lock (_sync) return _active == 0 && _idleSinceMs <= cutoffMs;
    }

    /// <summary>Closes once no stream is left (at once if none is).</summary>
    public void CloseWhenIdle()
    {
        bool now;
        lock (_sync)
        {
            _closeWhenIdle = true;
            now = _active == 0;
        }
        if (now) Close();
    }

    /// <summary>Closes the connection (GOAWAY first, best effort); its streams fail as on a lost connection.</summary>
    public void Close()
    {
        if (_closed) return;
        _ = CloseAsync();
    }

    private async Task CloseAsync()
    {
        try
        {
            if (await _writeLock.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false))
            {
                try
                {
                    // The last stream id is the last the server opened (§6.8): none, with push off.
                    Http2FrameWriter.WriteGoAway(_output, 0, Http2ErrorCode.NoError);
                    await _output.FlushAsync().ConfigureAwait(false);
                }
                finally
                {
                    _writeLock.Release();
                }
            }
        }
        catch (Exception)
        {
            // Already gone.
        }
        _closed = true;
        ((IDisposable)_transport).Dispose();
    }

    // ---- sending (any thread) ----

    /// <summary>
    /// Gives the stream its id and sends its HEADERS (the request head, encoded by the stream). False when the
    /// connection takes no new streams any more (GOAWAY, closed) or the stream was given up: nothing was sent.
    /// </summary>
    public async ValueTask<bool> SendHeadersAsync(Http2UpstreamStream stream, bool endStream)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (_sync)
            {
                if (_goAway || _closed || stream.Closed || _nextStreamId <= 0) return false;
                stream.Id = _nextStreamId;
                // Past 2^31-1 the connection can open no more streams (§5.1.1): the overflow makes the id negative.
                _nextStreamId += 2;
                stream.SendWindow = new Http2SendWindow(_peerInitialWindow);
                stream.LocalEnded = endStream;
                _streams.Add(stream.Id, stream);
            }
            ApplyPeerTableSize();
            byte[] block = ArrayPool<byte>.Shared.Rent(stream.MaxFieldBlockLength);
            try
            {
                int written = 0;
                _encoder.BeginBlock(block, ref written);
                stream.EncodeRequestHead(_encoder, block, ref written, Secure);
                Http2FrameWriter.WriteFieldBlock(_output, stream.Id, block.AsSpan(0, written), endStream, _peerMaxFrameSize);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(block);
            }
            await _output.FlushAsync().ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            // The read loop sees the connection end and fails the stream.
            return true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends <paramref name="data"/> as DATA within the stream's and the connection's send windows, waiting for
    /// WINDOW_UPDATEs as needed. False when the stream or connection ended first.
    /// </summary>
    public async ValueTask<bool> SendDataAsync(Http2UpstreamStream stream, ReadOnlySequence<byte> data, bool endStream)
    {
        while (true)
        {
            int n;
            bool last;
            lock (_sync)
            {
                if (stream.Closed || _closed) return false;
                int want = (int)Math.Min(data.Length, _peerMaxFrameSize);
                n = want == 0 ? 0 : (int)Math.Min(want, Math.Min(stream.SendWindow.Available, _sendWindow.Available));
                if (want > 0 && n <= 0)
                {
                    stream.WaitingForWindow = true;
                    last = false;
                }
                else
                {
                    stream.SendWindow.Take(n);
                    _sendWindow.Take(n);
                    last = n == data.Length;
                    if (last && endStream) stream.LocalEnded = true;
                }
            }
            if (!last && n <= 0)
            {
                await stream.WindowSignal.WaitAsync().ConfigureAwait(false);
                continue;
            }
            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                if (_closed) return false;
                Http2FrameWriter.WriteData(_output, stream.Id, data.Slice(0, n), endStream && last);
                if ((await _output.FlushAsync().ConfigureAwait(false)).IsCompleted) return false;
            }
            catch (Exception ex) when (IsConnectionError(ex))
            {
                return false;
            }
            finally
            {
                _writeLock.Release();
            }
            data = data.Slice(n);
            if (last)
            {
                if (endStream) CloseIfDone(stream);
                return true;
            }
        }
    }

    /// <summary>
    /// Ends the request with a trailing HEADERS block (§8.1) made of the chunked request's trailer section
    /// (<paramref name="lines"/>: the field lines as the client sent them; the fields HTTP/2 may carry go, names
    /// lowercased, see <see cref="Forwarding.TrailerRules"/>). When none may go, an empty DATA with END_STREAM ends
    /// the request instead. False when the stream or connection ended first.
    /// </summary>
    public async ValueTask<bool> SendTrailersAsync(Http2UpstreamStream stream, ReadOnlyMemory<byte> lines)
    {
        bool any;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            lock (_sync)
            {
                if (stream.Closed || _closed) return false;
            }
            ApplyPeerTableSize();
            byte[] block = ArrayPool<byte>.Shared.Rent(Forwarding.TrailerRules.BlockLength(lines.Span));
            try
            {
                int written = 0;
                _encoder.BeginBlock(block, ref written);
                // Sized for the lines: encoding cannot run out of room (and the HPACK state would be lost if it did).
                if (!Forwarding.TrailerRules.TryEncode(_encoder, lines.Span, block, ref written, out any)) throw new InvalidOperationException("trailer block overflow");
                if (any)
                {
                    lock (_sync) stream.LocalEnded = true;
                    Http2FrameWriter.WriteFieldBlock(_output, stream.Id, block.AsSpan(0, written), endStream: true, _peerMaxFrameSize);
                    if ((await _output.FlushAsync().ConfigureAwait(false)).IsCompleted) return false;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(block);
            }
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            return false;
        }
        finally
        {
            _writeLock.Release();
        }
        if (!any) return await SendDataAsync(stream, ReadOnlySequence<byte>.Empty, endStream: true).ConfigureAwait(false);
        CloseIfDone(stream);
        return true;
    }

    /// <summary>Our side gives the stream up (RST_STREAM CANCEL unless it is over already; never-sent streams just free their slot).</summary>
    public void Cancel(Http2UpstreamStream stream)
    {
        bool reset;
        lock (_sync)
        {
            if (stream.Closed) return;
            reset = stream.Id != 0;
            CloseLocked(stream);
        }
        AfterClose();
        if (reset) _ = SendResetAsync(stream.Id, Http2ErrorCode.Cancel);
    }

    /// <summary>A stream error we found in the server's response (malformed): RST_STREAM, and the stream fails.</summary>
    private void ResetFromReadLoop(Http2UpstreamStream stream, Http2ErrorCode code, string reason)
    {
        if (Server.FailureLog.ShouldLog(RepeatedFailure.Response, out var repeats))
            Log.BadUpstreamResponse(UpstreamName, Server.Display, $"HTTP/2 stream {stream.Id}: {reason}", repeats);
        lock (_sync)
        {
            if (stream.Closed) return;
            CloseLocked(stream);
        }
        Http2FrameWriter.WriteRstStream(_control, stream.Id, code);
        stream.Fail();
        AfterClose();
    }

    private async Task SendResetAsync(int id, Http2ErrorCode code)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed) return;
            Http2FrameWriter.WriteRstStream(_output, id, code);
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Stream credit given back once the client side took the response bytes (from a flush continuation).</summary>
    public void SendWindowUpdate(Http2UpstreamStream stream, int increment, bool fromReadLoop)
    {
        if (fromReadLoop)
        {
            Http2FrameWriter.WriteWindowUpdate(_control, stream.Id, increment);
            return;
        }
        _ = SendWindowUpdateAsync(stream, increment);
    }

    private async Task SendWindowUpdateAsync(Http2UpstreamStream stream, int increment)
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed || stream.Closed) return;
            Http2FrameWriter.WriteWindowUpdate(_output, stream.Id, increment);
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ApplyPeerTableSize()
    {
        long size = Interlocked.Exchange(ref _pendingPeerTableSize, -1);
        if (size >= 0) _encoder.SetPeerMaxTableSize((uint)size);
    }

    // ---- stream bookkeeping (under _sync) ----

    private void CloseIfDone(Http2UpstreamStream stream)
    {
        lock (_sync)
        {
            if (stream.Closed || !stream.LocalEnded || !stream.RemoteEnded) return;
            CloseLocked(stream);
        }
        AfterClose();
    }

    private void CloseLocked(Http2UpstreamStream stream)
    {
        stream.Closed = true;
        if (stream.Id != 0) _streams.Remove(stream.Id);
        _active--;
        _idleSinceMs = Transport.Heartbeat.NowMs;
        stream.WindowSignal.Release();
    }

    /// <summary>A slot freed up: a waiting request may take it, or a retired connection may now close.</summary>
    private void AfterClose()
    {
        bool close;
        lock (_sync) close = _closeWhenIdle && _active == 0;
        if (close) Close();
        else _pool.WakeWaiters();
    }

    // ---- the read loop ----

    private async Task RunAsync()
    {
        bool settingsSeen = false;
        string? failure = null;
        try
        {
            if ((await _output.FlushAsync().ConfigureAwait(false)).IsCompleted) return;
            while (true)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                Http2ErrorCode error = Http2ErrorCode.NoError;
                Http2ReadStatus status;
                while ((status = _frames.TryRead(ref buffer, out Http2Frame frame, out Http2FrameError frameError)) != Http2ReadStatus.NeedMore)
                {
                    if (status == Http2ReadStatus.Error)
                    {
                        if (frameError.IsConnectionError)
                        {
                            error = frameError.Code;
                            failure = frameError.Reason.ToString();
                            break;
                        }
                        if (FindStream(frameError.StreamId) is { } broken) ResetFromReadLoop(broken, frameError.Code, frameError.Reason.ToString());
                        continue;
                    }
                    if (!settingsSeen)
                    {
                        // §3.4: the server's preface is a SETTINGS frame.
                        if (frame.Type != Http2FrameType.Settings || frame.IsAck)
                        {
                            error = Http2ErrorCode.ProtocolError;
                            failure = "the server did not start with SETTINGS";
                            break;
                        }
                        settingsSeen = true;
                    }
                    error = OnFrame(ref frame);
                    if (error != Http2ErrorCode.NoError)
                    {
                        failure ??= frame.Type.ToString();
                        break;
                    }
                }
                _input.AdvanceTo(buffer.Start, buffer.End);
                if (error != Http2ErrorCode.NoError)
                {
                    // §5.4.1: GOAWAY with the last stream the server started (none: we never accept pushes), then close.
                    if (settingsSeen && Server.FailureLog.ShouldLog(RepeatedFailure.Response, out var repeats))
                        Log.BadUpstreamResponse(UpstreamName, Server.Display, $"HTTP/2 connection error {error}: {failure}", repeats);
                    Http2FrameWriter.WriteGoAway(_control, 0, error);
                    await FlushControlAsync().ConfigureAwait(false);
                    return;
                }
                if (!await FlushControlAsync().ConfigureAwait(false)) return;
                if (result.IsCompleted) return;
                if (_goAway && StreamCount == 0) return;
            }
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            // Reset or cut: as a close.
        }
        finally
        {
            Shutdown(settingsSeen ? null : failure);
        }
    }

    private int StreamCount
    {
        get { lock (_sync) return _streams.Count; }
    }

    private Http2UpstreamStream? FindStream(int id)
    {
        lock (_sync) return _streams.GetValueOrDefault(id);
    }

    private Http2ErrorCode OnFrame(ref Http2Frame frame)
    {
        switch (frame.Type)
        {
            case Http2FrameType.Settings:
                return frame.IsAck ? Http2ErrorCode.NoError : OnSettings(frame);
            case Http2FrameType.Ping:
                if (!frame.IsAck) Http2FrameWriter.WritePing(_control, frame.PingData, ack: true);
                return Http2ErrorCode.NoError;
            case Http2FrameType.WindowUpdate:
                return OnWindowUpdate(frame);
            case Http2FrameType.GoAway:
                OnGoAway(frame);
                return Http2ErrorCode.NoError;
            case Http2FrameType.RstStream:
                OnReset(frame);
                return Http2ErrorCode.NoError;
            case Http2FrameType.Headers:
                return OnHeaders(frame);
            case Http2FrameType.Continuation:
                return DecodeBlock(frame.Payload, frame.EndHeaders);
            case Http2FrameType.Data:
                return OnData(frame);
            case Http2FrameType.PushPromise:
                // §8.4: we said SETTINGS_ENABLE_PUSH = 0.
                return Http2ErrorCode.ProtocolError;
            default:
                // PRIORITY and extension frames: nothing to do (§5.5).
                return Http2ErrorCode.NoError;
        }
    }

    private Http2ErrorCode OnSettings(in Http2Frame frame)
    {
        bool wake = false;
        lock (_sync)
        {
            foreach (var setting in new Http2SettingsEnumerator(frame.Payload))
            {
                switch (setting.Parameter)
                {
                    case Http2SettingsParameter.HeaderTableSize:
                        Volatile.Write(ref _pendingPeerTableSize, setting.Value);
                        break;
                    case Http2SettingsParameter.MaxConcurrentStreams:
                        int max = (int)Math.Min(setting.Value, DefaultMaxStreams);
                        wake |= max > _maxStreams;
                        _maxStreams = max;
                        break;
                    case Http2SettingsParameter.InitialWindowSize:
                        // §6.9.2: every open stream's window moves by the difference.
                        long delta = (long)setting.Value - _peerInitialWindow;
                        _peerInitialWindow = (int)setting.Value;
                        foreach (var stream in _streams.Values)
                        {
                            if (!stream.SendWindow.TryAdjust(delta)) return Http2ErrorCode.FlowControlError;
                            if (delta > 0) stream.WindowSignal.Release();
                        }
                        break;
                    case Http2SettingsParameter.MaxFrameSize:
                        _peerMaxFrameSize = (int)setting.Value;
                        break;
                }
            }
            if (!_ready)
            {
                _ready = true;
                wake = true;
            }
        }
        Http2FrameWriter.WriteSettingsAck(_control);
        _settingsReceived.TrySetResult();
        if (wake) _pool.WakeWaiters();
        return Http2ErrorCode.NoError;
    }

    private Http2ErrorCode OnWindowUpdate(in Http2Frame frame)
    {
        if (frame.StreamId == 0)
        {
            lock (_sync)
            {
                if (!_sendWindow.TryIncrease(frame.WindowIncrement)) return Http2ErrorCode.FlowControlError;
                foreach (var stream in _streams.Values)
                {
                    if (!stream.WaitingForWindow) continue;
                    stream.WaitingForWindow = false;
                    stream.WindowSignal.Release();
                }
            }
            return Http2ErrorCode.NoError;
        }
        Http2UpstreamStream? overflowed = null;
        lock (_sync)
        {
            if (!_streams.TryGetValue(frame.StreamId, out var stream)) return Http2ErrorCode.NoError;
            if (stream.SendWindow.TryIncrease(frame.WindowIncrement))
            {
                stream.WaitingForWindow = false;
                stream.WindowSignal.Release();
            }
            else
            {
                overflowed = stream;
            }
        }
        if (overflowed is not null) ResetFromReadLoop(overflowed, Http2ErrorCode.FlowControlError, "stream window over 2^31-1");
        return Http2ErrorCode.NoError;
    }

    /// <summary>
    /// GOAWAY (§6.8): no new streams here. Streams above the last id were not processed by the server and end as if
    /// never answered (the exchange retries them as a failure before anything was sent back); the others finish.
    /// </summary>
    private void OnGoAway(in Http2Frame frame)
    {
        _goAway = true;
        List<Http2UpstreamStream>? refused = null;
        lock (_sync)
        {
            foreach (var stream in _streams.Values)
            {
                if (stream.Id > frame.LastStreamId) (refused ??= []).Add(stream);
            }
            if (refused is not null)
            {
                foreach (var stream in refused) CloseLocked(stream);
            }
        }
        if (frame.ErrorCode != Http2ErrorCode.NoError && Server.FailureLog.ShouldLog(RepeatedFailure.Response, out var repeats))
            Log.BadUpstreamResponse(UpstreamName, Server.Display, $"HTTP/2 GOAWAY {frame.ErrorCode}, last stream {frame.LastStreamId}", repeats);
        _pool.Remove(this);
        if (refused is null) return;
        foreach (var stream in refused) stream.Fail();
        AfterClose();
    }

    private void OnReset(in Http2Frame frame)
    {
        Http2UpstreamStream? stream;
        lock (_sync)
        {
            if (!_streams.TryGetValue(frame.StreamId, out stream)) return;
            CloseLocked(stream);
        }
        // NO_ERROR after a complete response: the server needs no more of the request (§8.1); the response stands.
        if (frame.ErrorCode != Http2ErrorCode.NoError || !stream.RemoteEnded)
        {
            if (frame.ErrorCode is not (Http2ErrorCode.NoError or Http2ErrorCode.Cancel or Http2ErrorCode.RefusedStream)
                && Server.FailureLog.ShouldLog(RepeatedFailure.Response, out var repeats))
                Log.BadUpstreamResponse(UpstreamName, Server.Display, $"HTTP/2 stream {stream.Id} reset: {frame.ErrorCode}", repeats);
            stream.Fail();
        }
        AfterClose();
    }

    private Http2ErrorCode OnHeaders(in Http2Frame frame)
    {
        Http2UpstreamStream? stream;
        lock (_sync)
        {
            stream = _streams.GetValueOrDefault(frame.StreamId);
            // §5.1.1: the server cannot open streams (push is off); a stream we never opened is a protocol error.
            if (stream is null && ((frame.StreamId & 1) == 0 || frame.StreamId >= _nextStreamId)) return Http2ErrorCode.ProtocolError;
            if (stream is not null && stream.RemoteEnded) return Http2ErrorCode.StreamClosed;
        }
        _blockStream = stream;
        _blockEndStream = frame.EndStream;
        stream?.BeginFieldBlock();
        return DecodeBlock(frame.Payload, frame.EndHeaders);
    }

    private Http2ErrorCode DecodeBlock(in ReadOnlySequence<byte> fragment, bool endHeaders)
    {
        var sink = new FieldSink { Stream = _blockStream };
        if (_decoder.Decode(fragment, endHeaders, ref sink) != HPackError.None) return Http2ErrorCode.CompressionError;
        if (!endHeaders) return Http2ErrorCode.NoError;
        var stream = _blockStream;
        _blockStream = null;
        if (stream is null) return Http2ErrorCode.NoError;
        var verdict = stream.EndFieldBlock(_blockEndStream);
        if (verdict is not null)
        {
            ResetFromReadLoop(stream, Http2ErrorCode.ProtocolError, verdict);
            return Http2ErrorCode.NoError;
        }
        if (_blockEndStream) RemoteEnded(stream);
        return Http2ErrorCode.NoError;
    }

    private Http2ErrorCode OnData(in Http2Frame frame)
    {
        // The connection window counts every DATA frame (§6.9); credit goes back at once.
        lock (_sync)
        {
            if (!_receiveWindow.TryReceive(frame.Length)) return Http2ErrorCode.FlowControlError;
        }
        int credit;
        lock (_sync) credit = _receiveWindow.Release(frame.Length);
        if (credit > 0) Http2FrameWriter.WriteWindowUpdate(_control, 0, credit);

        Http2UpstreamStream? stream;
        lock (_sync)
        {
            stream = _streams.GetValueOrDefault(frame.StreamId);
            if (stream is null) return (frame.StreamId & 1) == 0 || frame.StreamId >= _nextStreamId ? Http2ErrorCode.ProtocolError : Http2ErrorCode.NoError;
            if (stream.RemoteEnded) return Http2ErrorCode.StreamClosed;
        }
        var verdict = stream.OnData(frame.Payload, frame.Length, frame.EndStream);
        if (verdict is not null)
        {
            ResetFromReadLoop(stream, verdict == Http2UpstreamStream.FlowControlVerdict ? Http2ErrorCode.FlowControlError : Http2ErrorCode.ProtocolError, verdict);
            return Http2ErrorCode.NoError;
        }
        if (frame.EndStream) RemoteEnded(stream);
        return Http2ErrorCode.NoError;
    }

    private void RemoteEnded(Http2UpstreamStream stream)
    {
        lock (_sync) stream.RemoteEnded = true;
        CloseIfDone(stream);
    }

    private async ValueTask<bool> FlushControlAsync()
    {
        if (_control.WrittenCount == 0) return true;
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _output.Write(_control.WrittenSpan);
            _control.ResetWrittenCount();
            return !(await _output.FlushAsync().ConfigureAwait(false)).IsCompleted;
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
            return false;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>The connection is over: every stream still open fails (before a response head: the exchange's 502 or retry; after: the client's response is cut).</summary>
    private void Shutdown(string? handshakeFailure)
    {
        _closed = true;
        _pool.Remove(this);
        List<Http2UpstreamStream> open;
        lock (_sync)
        {
            open = [.. _streams.Values];
            foreach (var stream in open) CloseLocked(stream);
        }
        foreach (var stream in open) stream.Fail();
        _settingsReceived.TrySetException(new UpstreamProtocolException(handshakeFailure is null
            ? "the connection closed before the server's SETTINGS (it may speak only HTTP/1.1)"
            : $"the server did not answer with HTTP/2 ({handshakeFailure}; it may speak only HTTP/1.1)"));
        try { _input.Complete(); } catch { /* completed */ }
        try { _output.Complete(); } catch { /* completed */ }
        ((IDisposable)_transport).Dispose();
        _pool.WakeWaiters();
    }

    private static bool IsConnectionError(Exception ex)
        => ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException
            or Pipelines.Sockets.Unofficial.ConnectionResetException or Pipelines.Sockets.Unofficial.ConnectionAbortedException or InvalidOperationException;

    private struct FieldSink : IHPackHeaderHandler
    {
        public Http2UpstreamStream? Stream;

        public readonly void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Stream?.OnField(name, value);
    }
}
