using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using FastProxy.Http1;
using FastProxy.Http2.HPack;
using FastProxy.Http2.Messages;
using FastProxy.Http2.Streams;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

/// <summary>
/// One HTTP/2 request stream of an <see cref="Http2Connection"/>: its state, windows, and the conversion of its
/// request to HTTP/1.1 bytes written into <see cref="Request"/>, which a stream-mode <see cref="Http1Connection"/>
/// reads as if from a socket (and answers into <see cref="Response"/>). Fields arrive from the HPACK decoder, are
/// checked by <see cref="Http2RequestFieldValidator"/> (RFC 9113 §8.2–§8.3), and become a request line, a Host
/// field from :authority, the regular fields (cookies joined, §8.2.3), and Content-Length or chunked framing.
/// </summary>
internal sealed class Http2Stream : IThreadPoolWorkItem
{
    /// <summary>
    /// In-memory pipes between the HTTP/2 connection and the stream's HTTP/1.1 exchange. Thread-pool continuations:
    /// the two sides never run each other's code inline (no reentrancy into the connection's read loop). A pipe
    /// holding 64 KiB stops its writer: for responses that is the back-pressure from the client's window to the
    /// upstream read.
    /// </summary>
    private static readonly PipeOptions s_pipeOptions = new(
        pool: PipeSettings.SmallBlocks,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: 64 * 1024,
        resumeWriterThreshold: 32 * 1024,
        minimumSegmentSize: PipeSettings.SmallBlock,
        useSynchronizationContext: false);

    public Http2Stream(int id, int sendWindow, int receiveWindow)
    {
        Id = id;
        SendWindow = new Http2SendWindow(sendWindow);
        ReceiveWindow = new Http2ReceiveWindow(receiveWindow);
    }

    public readonly int Id;
    public Http2StreamStateMachine State;
    /// <summary>Guarded by the connection's lock.</summary>
    public Http2SendWindow SendWindow;
    /// <summary>Guarded by <see cref="Gate"/>.</summary>
    public Http2ReceiveWindow ReceiveWindow;

    /// <summary>
    /// The request's pipe to the exchange: made only for a request with a body (or a head too large for
    /// <see cref="Http2BufferedRequest"/>); null otherwise, and then <see cref="WriterCompleted"/> from the start.
    /// </summary>
    public Pipe? Request;

    private Pipe? _response;

    /// <summary>The response's pipe from the exchange, once the exchange has written HTTP/1.1 bytes (see <see cref="Http2ResponseWriter"/>).</summary>
    public Pipe? Response => Volatile.Read(ref _response);

    public Pipe OpenRequest() => Request = new Pipe(s_pipeOptions);

    public Pipe OpenResponse()
    {
        var pipe = Volatile.Read(ref _response);
        if (pipe is not null) return pipe;
        Interlocked.CompareExchange(ref _response, new Pipe(s_pipeOptions), null);
        return _response!;
    }

    /// <summary>Serialises the request pipe's writer between the read loop and the flush continuation.</summary>
    public readonly object Gate = new();

    /// <summary>
    /// The stream's exchange while it runs (guarded by <see cref="Gate"/>): a reset by either side, or the
    /// connection's end, cuts its upstream at once (<see cref="CancelExchange"/>), as Envoy resets the upstream
    /// stream when the downstream one is reset, instead of leaving it to run to its next write or its timeouts.
    /// </summary>
    private Http1Connection? _exchange;

    /// <summary>Set by <see cref="CancelExchange"/>, under <see cref="Gate"/>.</summary>
    private bool _cancelled;

    /// <summary>The exchange that serves this stream, before it starts.</summary>
    public void AttachExchange(Http1Connection exchange)
    {
        lock (Gate) _exchange = exchange;
    }

    /// <summary>
    /// The exchange is over and about to go back to its pool: from here a cancel must not reach it (it may serve
    /// another request by then). Waits for a cancel in progress, which holds <see cref="Gate"/>.
    /// </summary>
    public void DetachExchange(Http1Connection exchange)
    {
        lock (Gate)
        {
            if (ReferenceEquals(_exchange, exchange)) _exchange = null;
        }
    }

    /// <summary>
    /// The stream was reset (by the client, or by us) or its connection ended while the exchange ran: its upstream
    /// connection is cut now (no retry follows), so a server working on a cancelled request learns of it at once.
    /// Queued to the thread pool: the callers hold the connection's lock, and cutting a socket may run the exchange's
    /// continuations inline.
    /// </summary>
    public void CancelExchange()
    {
        if (!Started) return;
        // Off the caller's thread: the callers hold the connection's lock.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        lock (Gate)
        {
            if (_cancelled) return;
            _cancelled = true;
            _exchange?.Abort();
        }
    }

    /// <summary>Set when the stream is reset or the connection ends: the response pump stops.</summary>
    public volatile bool Aborted;
    /// <summary>The stream-mode connection runs (it owns the request reader and response writer).</summary>
    public bool Started;
    /// <summary>END_STREAM received (or the request side is otherwise over).</summary>
    public bool RequestEnded;
    /// <summary>
    /// The response pump waits for window here (signalled by WINDOW_UPDATE, SETTINGS, abort); made under the
    /// connection's lock the first time the pump has to wait.
    /// </summary>
    public SemaphoreSlim? WindowSignal;
    public bool WaitingForWindow;

    public HttpMethod Method;
    public Http2RequestFieldValidator Validator;
    /// <summary>The field block being decoded is trailers (a second HEADERS, which must end the stream).</summary>
    public bool InTrailers;
    public long DeclaredLength = -1;
    public long Received;
    public bool Chunked;
    /// <summary>The response body's chunked decoder (the pump's; a field so it survives the pump's awaits).</summary>
    public ChunkedDecoder Chunks;
    /// <summary>The response's trailer field lines as the chunked decoder handed them out (bounded by its limits); null: none.</summary>
    public ArrayBufferWriter<byte>? ResponseTrailers;
    /// <summary>A response head the pump holds back (gRPC Trailers-Only, see Http2Connection.Pump) and a copy of its bytes.</summary>
    public ResponseHead? HeldHead;
    public byte[]? HeldHeadBytes;
    public int HeldHeadLength;

    // Flow of request bytes (under Gate): credit owed to the client until the HTTP/1.1 side has taken the bytes.
    public int OwedCredit;
    public bool Flushing;
    public bool CompleteAfterFlush;
    public bool WriterCompleted;

    // The request head as decoded: pseudo-headers first (the validator enforces it), then regular fields.
    private byte[]? _method;
    private byte[]? _path;
    private byte[]? _authority;
    private readonly ArrayBufferWriter<byte> _fields = new(256);
    private ArrayBufferWriter<byte>? _cookies;
    private ArrayBufferWriter<byte>? _trailers;

    /// <summary>One decoded field of the request head or trailers.</summary>
    public void OnField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (InTrailers)
        {
            if (Validator.OnTrailerField(name, value) != Http2FieldError.None) return;
            // Trailers reach an HTTP/1.1 upstream only in chunked framing; with Content-Length there is no place for them.
            if (!Chunked) return;
            _trailers ??= new ArrayBufferWriter<byte>(128);
            AppendLine(_trailers, name, value);
            return;
        }
        if (Validator.OnField(name, value) != Http2FieldError.None) return;
        if (name[0] == (byte)':')
        {
            if (name.SequenceEqual(":method"u8)) _method = value.ToArray();
            else if (name.SequenceEqual(":path"u8)) _path = value.ToArray();
            else if (name.SequenceEqual(":authority"u8)) _authority = value.ToArray();
            // :scheme: the listener's own scheme goes upstream in X-Forwarded-Proto; :protocol: extended CONNECT, refused below.
            return;
        }
        if (name.SequenceEqual("cookie"u8))
        {
            // §8.2.3: an HTTP/2 client may split Cookie into several fields; HTTP/1.1 wants one, joined with "; ".
            _cookies ??= new ArrayBufferWriter<byte>(128);
            if (_cookies.WrittenCount > 0) _cookies.Write("; "u8);
            _cookies.Write(value);
            return;
        }
        // Host: :authority wins when present (§8.3.1). Expect is a matter of the client's connection, not the
        // upstream's. TE can only be "trailers" (the validator refuses anything else) and goes on as it is: the
        // exchange forwards "TE: trailers" (gRPC servers require it), and the pump passes trailers back.
        if (name.SequenceEqual("expect"u8)) return;
        if (name.SequenceEqual("host"u8) && _authority is not null) return;
        if (name.SequenceEqual("content-length"u8))
        {
            // Kept as sent (the HTTP/1.1 parser judges it); parsed here to check DATA against it (§8.1.1).
            if (Utf8Parser.TryParse(value, out long length, out int consumed) && consumed == value.Length && length >= 0) DeclaredLength = length;
        }
        AppendLine(_fields, name, value);
    }

    private static void AppendLine(ArrayBufferWriter<byte> to, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        to.Write(name);
        to.Write(": "u8);
        to.Write(value);
        to.Write("\r\n"u8);
    }

    /// <summary>
    /// The header block is complete: checks it for what HTTP/2 requires of a request beyond its fields. False:
    /// malformed (a stream error PROTOCOL_ERROR, §8.1.1).
    /// </summary>
    public bool Accept(bool endStream)
    {
        if (Validator.Complete() != Http2FieldError.None || _method is null) return false;
        Method = HttpMethods.Lookup(_method);
        // Extended CONNECT (RFC 8441) is not offered (SETTINGS_ENABLE_CONNECT_PROTOCOL is never sent).
        if (Method == HttpMethod.Connect && _path is not null) return false;
        // §8.1.1: a request that ends with its headers has no body: a Content-Length above 0 is a lie.
        if (endStream && DeclaredLength > 0) return false;
        Chunked = !endStream && DeclaredLength < 0;
        return true;
    }

    /// <summary>Octets <see cref="WriteHead(IBufferWriter{byte})"/> writes (after <see cref="Accept"/>).</summary>
    public int HeadLength
        => _method!.Length + 1 + (_path?.Length ?? _authority?.Length ?? 1) + 11
            + (_authority is null ? 0 : 8 + _authority.Length)
            + _fields.WrittenCount
            + (_cookies is null ? 0 : 10 + _cookies.WrittenCount)
            + (Chunked ? 28 : 0) + 2;

    /// <summary>The HTTP/1.1 request head (after <see cref="Accept"/>), into <paramref name="writer"/> (not flushed).</summary>
    public void WriteHead(IBufferWriter<byte> writer)
    {
        writer.Write(_method);
        writer.Write(" "u8);
        // CONNECT's target is the authority (RFC 9113 §8.5); the HTTP/1.1 parser answers it (501: not a tunnel proxy).
        writer.Write(_path ?? _authority ?? "/"u8.ToArray());
        writer.Write(" HTTP/1.1\r\n"u8);
        if (_authority is not null)
        {
            writer.Write("Host: "u8);
            writer.Write(_authority);
            writer.Write("\r\n"u8);
        }
        writer.Write(_fields.WrittenSpan);
        if (_cookies is not null)
        {
            writer.Write("Cookie: "u8);
            writer.Write(_cookies.WrittenSpan);
            writer.Write("\r\n"u8);
        }
        if (Chunked) writer.Write("Transfer-Encoding: chunked\r\n"u8);
        writer.Write("\r\n"u8);
    }

    /// <summary>
    /// DATA for the request body, into the pipe (under <see cref="Gate"/>, not flushed). False: more than the
    /// declared Content-Length (§8.1.1).
    /// </summary>
    public bool WriteData(in ReadOnlySequence<byte> data)
    {
        Received += data.Length;
        if (DeclaredLength >= 0 && Received > DeclaredLength) return false;
        if (data.IsEmpty) return true;
        var writer = Request!.Writer;
        ChunkFraming.Write(writer, data, Chunked);
        return true;
    }

    /// <summary>The request ends here (END_STREAM): the last chunk and trailers. False: fewer octets than Content-Length.</summary>
    public bool WriteEnd()
    {
        if (DeclaredLength >= 0 && Received != DeclaredLength) return false;
        if (Chunked)
        {
            var writer = Request!.Writer;
            writer.Write("0\r\n"u8);
            if (_trailers is not null) writer.Write(_trailers.WrittenSpan);
            writer.Write("\r\n"u8);
        }
        return true;
    }

    public override string ToString() => $"stream {Id} {Encoding.ASCII.GetString(_method ?? [])} {Encoding.ASCII.GetString(_path ?? [])}";
}
