using FastProxy.Async;
using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using FastProxy.Http1;
using FastProxy.Http2.HPack;
using FastProxy.Http2.Streams;
using FastProxy.Transport;

namespace FastProxy.Upstreams;

/// <summary>
/// One request to an HTTP/2 server, presented to the proxy's exchange as if it were an HTTP/1.1 connection: the
/// exchange writes the HTTP/1.1 request it would send any server (head from RequestHeadWriter, with the forwarding
/// headers, then the body as the client framed it) into <see cref="Output"/>, and reads an HTTP/1.1 response from
/// <see cref="Input"/>. So timeouts, retries, limits, outlier detection, 1xx relaying and body streaming are the
/// HTTP/1.1 path's own code. Here, the request head becomes HEADERS (RFC 9113 §8.3.1: :method, :scheme, :authority
/// from Host, :path; connection-specific fields dropped, §8.2.2) and the body DATA (Content-Length, or chunked
/// decoded), with END_STREAM; the response HEADERS become a status line and fields (no content-length: chunked), DATA
/// the body, and a trailing HEADERS block the chunked trailer section, so trailers (gRPC status) reach the client.
/// Both directions run at once (the response may stream while the request body still goes out). Memory is bounded:
/// the request pipe is read only as the server's windows allow, and the server's DATA is credited back only once
/// the exchange has read the response pipe below its threshold.
/// </summary>
internal sealed class Http2UpstreamStream : IDuplexPipe, IDisposable
{
    /// <summary>Thread-pool continuations: the read loop never runs the exchange's code inline, nor the reverse.</summary>
    private static readonly PipeOptions s_pipeOptions = new(
        pool: PipeSettings.SmallBlocks,
        readerScheduler: PooledThreadPoolScheduler.Instance,
        writerScheduler: PooledThreadPoolScheduler.Instance,
        pauseWriterThreshold: 64 * 1024,
        resumeWriterThreshold: 32 * 1024,
        minimumSegmentSize: PipeSettings.SmallBlock,
        useSynchronizationContext: false);

    /// <summary>The request head as RequestHeadWriter wrote it: the client's limits plus the few fields the proxy adds.</summary>
    private static readonly HeadLimits s_requestLimits = new(MaxStartLine: 16 * 1024, MaxHeaderBytes: 96 * 1024, MaxHeaders: 512);

    public const string FlowControlVerdict = "DATA over the stream window";

    private readonly Http2UpstreamConnection _connection;
    private readonly Pipe _request = new(s_pipeOptions);
    private readonly Pipe _response = new(s_pipeOptions);

    // Protocol state, guarded by the connection's lock.
    public int Id;
    public Http2SendWindow SendWindow;
    public bool LocalEnded;
    public bool RemoteEnded;
    public bool Closed;
    public bool WaitingForWindow;
    /// <summary>Released by WINDOW_UPDATE, SETTINGS and the stream's end: the request sender looks at the windows again.</summary>
    public readonly SemaphoreSlim WindowSignal = new(0);

    private volatile bool _disposed;

    // The request, as parsed back from the HTTP/1.1 bytes (the sender task's).
    private readonly RequestHead _head = new();
    private byte[] _headBytes = [];

    // The response, as converted (the read loop's; the flush fields under _gate).
    private readonly object _gate = new();
    private Http2ReceiveWindow _receiveWindow = new(Http2UpstreamConnection.StreamReceiveWindow);
    private HttpMethod _method;
    private ResponsePhase _phase;
    private readonly ArrayBufferWriter<byte> _fields = new(256);
    private int _status;
    private long _contentLength = -1;
    private string? _fieldError;
    private bool _chunked;
    private bool _bodyless;
    private int _owedCredit;
    private bool _flushing;
    private bool _completeAfterFlush;
    private bool _writerCompleted;

    private enum ResponsePhase : byte
    {
        /// <summary>Waiting for the (final) response head; 1xx heads pass through.</summary>
        Head,
        Body,
        /// <summary>END_STREAM seen, or failed.</summary>
        Done,
    }

    public Http2UpstreamStream(Http2UpstreamConnection connection)
    {
        _connection = connection;
        _ = SendRequestAsync();
    }

    public PipeReader Input => _response.Reader;

    public PipeWriter Output => _request.Writer;

    /// <summary>Room for the encoded request head: HPACK never makes a field longer than its line plus a few octets.</summary>
    public int MaxFieldBlockLength => 2 * _headBytes.Length + 512;

    // ---- request: HTTP/1.1 bytes → HEADERS + DATA ----

    private async Task SendRequestAsync()
    {
        var reader = _request.Reader;
        bool sent = false;
        try
        {
            // 1. The head.
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (_disposed || result.IsCanceled && buffer.IsEmpty) return;
                if (!buffer.IsEmpty)
                {
                    byte[]? copy = buffer.IsSingleSegment ? null : buffer.ToArray();
                    var span = copy is null ? buffer.FirstSpan : copy;
                    _head.Reset();
                    var status = RequestParser.Parse(span, _head, s_requestLimits);
                    if (status == ParseStatus.Error) return;
                    if (status == ParseStatus.Complete)
                    {
                        _headBytes = span[.._head.HeadLength].ToArray();
                        reader.AdvanceTo(buffer.GetPosition(_head.HeadLength));
                        break;
                    }
                }
                if (result.IsCompleted) return;
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
            _method = _head.Method;
            bool hasBody = _head.IsChunked || _head.ContentLength > 0;
            if (!await _connection.SendHeadersAsync(this, endStream: !hasBody).ConfigureAwait(false)) return;
            sent = true;
            if (!hasBody) return;

            // 2. The body, as DATA within the server's windows: the pipe is read no faster than they open.
            bool chunked = _head.IsChunked;
            long remaining = chunked ? long.MaxValue : _head.ContentLength;
            var decoder = new ChunkedDecoder(maxBody: 0, maxTrailerBytes: Http2UpstreamConnection.MaxHeaderListSize, maxTrailerFields: Forwarding.Http1Connection.ResponseLimits.MaxHeaders);
            List<(long Start, long Length)> ranges = [];
            // The trailer section's field lines, when the chunked body has one: sent as a last HEADERS (§8.1).
            ArrayBufferWriter<byte>? trailers = null;
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (_disposed) return;
                if (chunked)
                {
                    // Framing is dropped; the data runs go out as they are.
                    ranges.Clear();
                    long offset = 0;
                    bool done = false;
                    foreach (var segment in buffer)
                    {
                        var span = segment.Span;
                        while (!span.IsEmpty)
                        {
                            var step = decoder.Next(span, out int consumed);
                            if (step == ChunkedStep.Error) { Abandon(); return; }
                            if (step == ChunkedStep.Trailer)
                            {
                                (trailers ??= new ArrayBufferWriter<byte>(256)).Write(span[..consumed]);
                            }
                            else if (step == ChunkedStep.Data)
                            {
                                if (ranges.Count > 0 && ranges[^1].Start + ranges[^1].Length == offset)
                                    ranges[^1] = (ranges[^1].Start, ranges[^1].Length + consumed);
                                else ranges.Add((offset, consumed));
                            }
                            offset += consumed;
                            span = span[consumed..];
                            if (step == ChunkedStep.Done) { done = true; break; }
                        }
                        if (done) break;
                    }
                    for (int i = 0; i < ranges.Count; i++)
                    {
                        bool end = done && trailers is null && i == ranges.Count - 1;
                        if (!await _connection.SendDataAsync(this, buffer.Slice(ranges[i].Start, ranges[i].Length), end).ConfigureAwait(false)) return;
                        if (end) ranges.Clear();
                    }
                    if (done)
                    {
                        if (trailers is not null)
                        {
                            if (!await _connection.SendTrailersAsync(this, trailers.WrittenMemory).ConfigureAwait(false)) return;
                        }
                        else if (!LocalEndedSafe() && !await _connection.SendDataAsync(this, ReadOnlySequence<byte>.Empty, true).ConfigureAwait(false)) return;
                        reader.AdvanceTo(buffer.GetPosition(offset));
                        return;
                    }
                    reader.AdvanceTo(buffer.GetPosition(offset));
                }
                else
                {
                    long take = Math.Min(buffer.Length, remaining);
                    if (take > 0)
                    {
                        remaining -= take;
                        if (!await _connection.SendDataAsync(this, buffer.Slice(0, take), remaining == 0).ConfigureAwait(false)) return;
                    }
                    reader.AdvanceTo(buffer.GetPosition(take));
                    if (remaining == 0) return;
                }
                if (result.IsCompleted)
                {
                    // The client's body ended short: the server must not take the part for the whole.
                    Abandon();
                    return;
                }
            }
        }
        catch (Exception)
        {
            Abandon();
        }
        finally
        {
            try { reader.Complete(); } catch { /* completed */ }
            if (!sent) Fail();
        }
    }

    private bool LocalEndedSafe() => Volatile.Read(ref LocalEnded);

    /// <summary>The request cannot be finished: the stream is reset (CANCEL) and the response, if any, cut.</summary>
    private void Abandon()
    {
        _connection.Cancel(this);
        Fail();
    }

    /// <summary>
    /// Encodes the request head (under the connection's write lock). Host becomes :authority (§8.3.1); the
    /// connection-specific fields (§8.2.2) and Host are left out; TE is sent as "trailers": the proxy accepts trailer
    /// fields (and relays them to the client when its framing allows).
    /// </summary>
    public void EncodeRequestHead(HPackEncoder encoder, byte[] block, ref int written, bool secure)
    {
        var head = _headBytes.AsSpan();
        Encode(encoder, ":method"u8, _head.MethodBytes(head), block, ref written);
        Encode(encoder, ":scheme"u8, secure ? "https"u8 : "http"u8, block, ref written);
        if (_head.HostLength > 0) Encode(encoder, ":authority"u8, _head.Host(head), block, ref written);
        Encode(encoder, ":path"u8, _head.Target(head), block, ref written);
        Span<byte> lower = stackalloc byte[256];
        foreach (ref readonly HeaderField field in _head.Fields)
        {
            var name = field.Name(head);
            if (field.Known is KnownHeader.Host or KnownHeader.Connection or KnownHeader.KeepAlive or KnownHeader.TE
                or KnownHeader.TransferEncoding or KnownHeader.Upgrade or KnownHeader.Trailer) continue;
            if (field.Known == KnownHeader.Proxy && name.Length == "proxy-connection".Length
                && System.Text.Ascii.EqualsIgnoreCase(name, "proxy-connection"u8)) continue;
            if (System.Text.Ascii.EqualsIgnoreCase(name, "http2-settings"u8)) continue;
            var lowered = name.Length <= lower.Length ? lower[..name.Length] : new byte[name.Length];
            System.Text.Ascii.ToLower(name, lowered, out _);
            Encode(encoder, lowered, field.Value(head), block, ref written);
        }
        Encode(encoder, "te"u8, "trailers"u8, block, ref written);
    }

    private static void Encode(HPackEncoder encoder, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, byte[] block, ref int written)
    {
        // Credentials are never put in the table (RFC 7541 §7.1.3), and neither are one-off values that would only evict others.
        var indexing = name.SequenceEqual("authorization"u8) || name.SequenceEqual("proxy-authorization"u8) ? HPackIndexing.Never
            : name.SequenceEqual(":path"u8) || name.SequenceEqual("content-length"u8) || name.SequenceEqual("x-forwarded-for"u8)
                || name.SequenceEqual("traceparent"u8) || name.SequenceEqual("x-request-id"u8) ? HPackIndexing.Without
            : HPackIndexing.Incremental;
        if (!encoder.TryEncode(name, value, indexing, block, ref written))
            throw new InvalidOperationException("request head larger than its field block bound");
    }

    // ---- response: HEADERS/DATA → HTTP/1.1 bytes (the read loop) ----

    public void BeginFieldBlock()
    {
        _fields.ResetWrittenCount();
        _fieldError = null;
        if (_phase == ResponsePhase.Head)
        {
            _status = 0;
            _contentLength = -1;
        }
    }

    public void OnField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty) return;
        if (name[0] == (byte)':')
        {
            // §8.3.2: :status only, and only in a response head.
            if (_phase == ResponsePhase.Head && _status == 0 && name.SequenceEqual(":status"u8)
                && value.Length == 3 && Utf8Parser.TryParse(value, out int status, out int used) && used == 3 && status >= 100)
            {
                _status = status;
            }
            else
            {
                _fieldError = "bad pseudo-header in the response";
            }
            return;
        }
        // §8.2.2: connection-specific fields make the message malformed; dropping them is the lenient reading.
        if (name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8) || name.SequenceEqual("proxy-connection"u8)
            || name.SequenceEqual("transfer-encoding"u8) || name.SequenceEqual("upgrade"u8)) return;
        if (_phase == ResponsePhase.Head && name.SequenceEqual("content-length"u8))
        {
            if (!Utf8Parser.TryParse(value, out long length, out int consumed) || consumed != value.Length || length < 0
                || (_contentLength >= 0 && _contentLength != length))
            {
                _fieldError = "bad content-length";
                return;
            }
            if (_contentLength >= 0) return;
            _contentLength = length;
        }
        // Field values must not carry CR, LF or NUL (§8.2.1): they would split the HTTP/1.1 head.
        if (value.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
        {
            _fieldError = "CR, LF or NUL in a field value";
            return;
        }
        _fields.Write(name);
        _fields.Write(": "u8);
        _fields.Write(value);
        _fields.Write("\r\n"u8);
    }

    /// <summary>A field block ended. Null, or why the stream is malformed (the connection resets it).</summary>
    public string? EndFieldBlock(bool endStream)
    {
        if (_fieldError is not null) return _fieldError;
        lock (_gate)
        {
            if (_writerCompleted) return null;
            var writer = _response.Writer;
            if (_phase == ResponsePhase.Head)
            {
                if (_status == 0) return "response without :status";
                if (_status < 200)
                {
                    // 1xx (§8.1.1): an informational head, then the final one. 101 has no meaning in HTTP/2 (§8.6).
                    if (_status == 101 || endStream) return "bad informational response";
                    WriteStatusLine(writer, _status);
                    writer.Write(_fields.WrittenSpan);
                    writer.Write("\r\n"u8);
                }
                else
                {
                    _bodyless = _status is 204 or 304 || _method == HttpMethod.Head;
                    _chunked = !endStream && _contentLength < 0 && !_bodyless;
                    WriteStatusLine(writer, _status);
                    writer.Write(_fields.WrittenSpan);
                    // The message ends with its head: say so, or a client would read to the close.
                    if (endStream && _contentLength < 0 && !_bodyless) writer.Write("content-length: 0\r\n"u8);
                    if (_chunked) writer.Write("transfer-encoding: chunked\r\n"u8);
                    writer.Write("\r\n"u8);
                    _phase = ResponsePhase.Body;
                }
            }
            else if (_phase == ResponsePhase.Body)
            {
                // Trailers (§8.1): they end the stream. In chunked framing they become the trailer section; with a
                // Content-Length there is nowhere to put them.
                if (!endStream) return "trailing HEADERS without END_STREAM";
                if (_chunked)
                {
                    writer.Write("0\r\n"u8);
                    writer.Write(_fields.WrittenSpan);
                    writer.Write("\r\n"u8);
                }
            }
            else
            {
                return null;
            }
            if (endStream)
            {
                _phase = ResponsePhase.Done;
                _completeAfterFlush = true;
            }
        }
        FlushResponse(0);
        return null;
    }

    private static void WriteStatusLine(PipeWriter writer, int status)
    {
        writer.Write("HTTP/1.1 "u8);
        Span<byte> digits = stackalloc byte[3];
        Utf8Formatter.TryFormat(status, digits, out _);
        writer.Write(digits);
        writer.Write(" "u8);
        writer.Write(System.Text.Encoding.ASCII.GetBytes(Forwarding.ReasonPhrases.For(status)));
        writer.Write("\r\n"u8);
    }

    /// <summary>DATA for the response. Null, or why the stream is broken (the connection resets it).</summary>
    public string? OnData(in ReadOnlySequence<byte> payload, int frameLength, bool endStream)
    {
        lock (_gate)
        {
            if (!_receiveWindow.TryReceive(frameLength)) return FlowControlVerdict;
            if (_phase != ResponsePhase.Body) return _phase == ResponsePhase.Head ? "DATA before the response head" : null;
            if (_writerCompleted) return null;
            var writer = _response.Writer;
            if (!payload.IsEmpty && !_bodyless)
            {
                Forwarding.ChunkFraming.Write(writer, payload, _chunked);
            }
            if (endStream)
            {
                if (_chunked) writer.Write("0\r\n\r\n"u8);
                _phase = ResponsePhase.Done;
                _completeAfterFlush = true;
            }
        }
        FlushResponse(frameLength);
        return null;
    }

    /// <summary>
    /// Hands written response bytes to the exchange. Stream credit goes back only once the pipe has room again, so
    /// a slow client holds the server back instead of growing the pipe.
    /// </summary>
    private void FlushResponse(int consumed)
    {
        ValueTask<FlushResult> flush;
        lock (_gate)
        {
            _owedCredit += consumed;
            if (_flushing || _writerCompleted) return;
            flush = _response.Writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                _flushing = true;
                _ = FlushLoopAsync(flush);
                return;
            }
        }
        AfterFlush(flush.IsCompletedSuccessfully && !flush.Result.IsCompleted, fromReadLoop: true);
    }

    private async Task FlushLoopAsync(ValueTask<FlushResult> flush)
    {
        bool open;
        while (true)
        {
            try
            {
                open = !(await flush.ConfigureAwait(false)).IsCompleted;
            }
            catch (Exception)
            {
                open = false;
            }
            lock (_gate)
            {
                if (!open || _writerCompleted)
                {
                    _flushing = false;
                    break;
                }
                if (_owedCredit > 0 || _completeAfterFlush)
                {
                    // More arrived while we waited: push it too before giving credit.
                    flush = _response.Writer.FlushAsync();
                    if (!flush.IsCompleted) continue;
                }
                _flushing = false;
            }
            break;
        }
        AfterFlush(open, fromReadLoop: false);
    }

    private void AfterFlush(bool open, bool fromReadLoop)
    {
        int credit = 0;
        lock (_gate)
        {
            if (_completeAfterFlush || !open)
            {
                if (!_writerCompleted)
                {
                    _writerCompleted = true;
                    _response.Writer.Complete();
                }
            }
            else if (_owedCredit > 0)
            {
                credit = _receiveWindow.Release(_owedCredit);
                _owedCredit = 0;
            }
        }
        if (credit > 0) _connection.SendWindowUpdate(this, credit, fromReadLoop);
    }

    /// <summary>
    /// The stream failed (reset, refused by GOAWAY, connection lost, malformed): the response pipe ends where it is.
    /// Before a head the exchange sees a closed connection (502, or a retry); mid-body an unfinished message.
    /// </summary>
    public void Fail()
    {
        lock (_gate)
        {
            if (_writerCompleted) return;
            // A response already complete stands (the read loop completes it after its flush).
            if (_phase == ResponsePhase.Done && _completeAfterFlush) return;
            _phase = ResponsePhase.Done;
            _writerCompleted = true;
            _response.Writer.Complete();
        }
        WindowSignal.Release();
    }

    /// <summary>The exchange is done with the stream: an unfinished one is reset (CANCEL), and its slot freed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _connection.Cancel(this);
        WindowSignal.Release();
        _request.Reader.CancelPendingRead();
        lock (_gate)
        {
            if (!_writerCompleted && !_flushing)
            {
                _writerCompleted = true;
                _response.Writer.Complete();
            }
        }
    }
}
