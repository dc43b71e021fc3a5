using FastProxy.Async;
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
        readerScheduler: PooledThreadPoolScheduler.Instance,
        writerScheduler: PooledThreadPoolScheduler.Instance,
        pauseWriterThreshold: 64 * 1024,
        resumeWriterThreshold: 32 * 1024,
        minimumSegmentSize: PipeSettings.SmallBlock,
        useSynchronizationContext: false);

    /// <summary>
    /// Ready for a new stream: every field as a new record has it. Records are reused (see <see cref="Owners"/>):
    /// only the connection's read loop calls this, on a record no one else holds any more.
    /// </summary>
    public void Init(Http2Connection connection, int id, int sendWindow, int receiveWindow)
    {
        _connection = connection;
        Id = id;
        State = default;
        SendWindow = new Http2SendWindow(sendWindow);
        ReceiveWindow = new Http2ReceiveWindow(receiveWindow);
        // The last stream's pipes, when it had any, serve this one: every owner is gone, so both ends of each are
        // complete (a pipe that is not, as after a failure mid-way, is left to the GC and made anew when needed).
        _spareRequest = Reusable(Request) ?? _spareRequest;
        _spareResponse = Reusable(_response) ?? _spareResponse;
        Request = null;
        _response = null;
        _exchange = null;
        _cancelled = false;
        Aborted = false;
        Started = false;
        RequestEnded = false;
        // A record whose pump was woken after it stopped waiting keeps a count: drained so the next pump waits.
        if (WindowSignal is { } signal) while (signal.Wait(0)) { }
        WaitingForWindow = false;
        Method = default;
        Validator = default;
        InTrailers = false;
        DeclaredLength = -1;
        Received = 0;
        Chunked = false;
        Chunks = default;
        ResponseTrailers = null;
        HeldHead = null;
        HeldHeadBytes = null;
        HeldHeadLength = 0;
        OwedCredit = 0;
        Flushing = false;
        CompleteAfterFlush = false;
        WriterCompleted = false;
        ReleaseHead();
        _trailers = null;
        _owners = 1; // the connection's stream table
    }

    private Http2Connection _connection = null!;

    /// <summary>
    /// Who still holds the record: the connection's stream table (from <see cref="Init"/> until the stream leaves it),
    /// the exchange (until its run has ended), the response pump, a queued cancel, a request flush in progress. At
    /// zero the record goes back to its connection (<see cref="Http2Connection"/> keeps a few for its next streams),
    /// and only the read loop takes it from there. So nothing a stream still in use holds can change under it; code
    /// on the read loop that met the stream before it left the table may still read it, since the read loop is also
    /// the only one that reuses records. Everything else holds an owner while it uses the record.
    /// </summary>
    private int _owners;

    internal int Owners => Volatile.Read(ref _owners);

    /// <summary>One more owner, only while the record is still owned (false: the stream is over; leave it alone).</summary>
    public bool TryRetain()
    {
        while (true)
        {
            int owners = Volatile.Read(ref _owners);
            if (owners <= 0) return false;
            if (Interlocked.CompareExchange(ref _owners, owners + 1, owners) == owners) return true;
        }
    }

    /// <summary>An owner is done with the record: the last one hands it back to its connection.</summary>
    public void Release()
    {
        int owners = Interlocked.Decrement(ref _owners);
        if (owners == 0) _connection.Recycle(this);
        // Below zero is a bug (an owner released twice); the record is then never reused, and the proxy goes on.
        System.Diagnostics.Debug.Assert(owners >= 0, $"stream {Id} released once too often");
    }

    /// <summary>
    /// The response pump's run while it is under way (<see cref="Http2Connection.StartPump"/>): read once by
    /// <see cref="PumpEnded"/>. The pump owns the record until then, so no other stream's pump can overwrite it.
    /// </summary>
    internal ValueTask Pump;

    private Action? _pumpEnded;

    /// <summary>The continuation that ends the pump's run (made once per record, which is reused for the connection's streams).</summary>
    internal Action PumpEnded => _pumpEnded ??= OnPumpEnded;

    private void OnPumpEnded()
    {
        var pump = Pump;
        Pump = default;
        _connection.EndPump(this, pump);
    }

    public int Id { get; private set; }
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

    /// <summary>Pipes of earlier streams on this record, reset and ready (see <see cref="Init"/>).</summary>
    private Pipe? _spareRequest;
    private Pipe? _spareResponse;

    private static Pipe? Reusable(Pipe? pipe)
    {
        if (pipe is null) return null;
        try
        {
            pipe.Reset(); // throws unless both its reader and its writer have completed
            return pipe;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Read loop only, once per stream.</summary>
    public Pipe OpenRequest()
    {
        var pipe = _spareRequest ?? new Pipe(s_pipeOptions);
        _spareRequest = null;
        return Request = pipe;
    }

    /// <summary>The exchange's response writer, once per stream (the pump then reads it).</summary>
    public Pipe OpenResponse()
    {
        var pipe = Volatile.Read(ref _response);
        if (pipe is not null) return pipe;
        // Only the exchange opens it, and once: the spare is its alone.
        var fresh = _spareResponse ?? new Pipe(s_pipeOptions);
        _spareResponse = null;
        Interlocked.CompareExchange(ref _response, fresh, null);
        return _response!;
    }

    /// <summary>Serialises the request pipe's writer between the read loop and the flush continuation.</summary>
    public object Gate => this; // the record itself: one object less per stream (nothing else locks on it)

    /// <summary>
    /// The stream's exchange while it runs (guarded by <see cref="Gate"/>): a reset by either side, or the
    /// connection's end, cuts its upstream at once (<see cref="CancelExchange"/>), as Envoy resets the upstream
    /// stream when the downstream one is reset, instead of leaving it to run to its next write or its timeouts.
    /// </summary>
    private Http1Connection? _exchange;

    /// <summary>Set by <see cref="CancelExchange"/>, under <see cref="Gate"/>.</summary>
    private bool _cancelled;

    /// <summary>The exchange that serves this stream, before it starts: it owns the record until its run has ended.</summary>
    public void AttachExchange(Http1Connection exchange)
    {
        if (!TryRetain()) throw new InvalidOperationException($"stream {Id} started after it ended");
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
        if (!Started || !TryRetain()) return;
        // Off the caller's thread: the callers hold the connection's lock.
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        try
        {
            lock (Gate)
            {
                if (_cancelled) return;
                _cancelled = true;
                _exchange?.Abort();
            }
        }
        finally
        {
            Release();
        }
    }

    /// <summary>Set when the stream is reset, answered, or the connection ends: the response pump stops.</summary>
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

    // The request head as decoded, in one buffer rented from ArrayPool.Shared (given back once the HTTP/1.1 head is
    // written, so a stream allocates nothing for its fields): the pseudo-header values first (the validator refuses
    // one after a regular field), then the regular fields as HTTP/1.1 lines.
    private RentedBytes _head;
    private int _methodAt = -1, _methodLength;
    private int _pathAt = -1, _pathLength;
    private int _authorityAt = -1, _authorityLength;
    /// <summary>Where the regular field lines start in <see cref="_head"/>; -1: none yet.</summary>
    private int _fieldsAt = -1;
    private RentedBytes _cookies;
    private bool _hasCookies;
    private ArrayBufferWriter<byte>? _trailers;

    private bool HasMethod => _methodAt >= 0;
    private ReadOnlySpan<byte> MethodBytes => _methodAt < 0 ? default : _head.Slice(_methodAt, _methodLength);
    private ReadOnlySpan<byte> PathBytes => _pathAt < 0 ? default : _head.Slice(_pathAt, _pathLength);
    private ReadOnlySpan<byte> AuthorityBytes => _authorityAt < 0 ? default : _head.Slice(_authorityAt, _authorityLength);
    private ReadOnlySpan<byte> FieldBytes => _fieldsAt < 0 ? default : _head.Slice(_fieldsAt, _head.Length - _fieldsAt);

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
            if (name.SequenceEqual(":method"u8)) (_methodAt, _methodLength) = (_head.Append(value), value.Length);
            else if (name.SequenceEqual(":path"u8)) (_pathAt, _pathLength) = (_head.Append(value), value.Length);
            else if (name.SequenceEqual(":authority"u8)) (_authorityAt, _authorityLength) = (_head.Append(value), value.Length);
            // :scheme: the listener's own scheme goes upstream in X-Forwarded-Proto; :protocol: extended CONNECT, refused below.
            return;
        }
        if (name.SequenceEqual("cookie"u8))
        {
            // §8.2.3: an HTTP/2 client may split Cookie into several fields; HTTP/1.1 wants one, joined with "; ".
            if (_hasCookies) _cookies.Append("; "u8);
            _hasCookies = true;
            _cookies.Append(value);
            return;
        }
        // Host: :authority wins when present (§8.3.1). Expect: 100-continue goes on as for an HTTP/1.1 client: the
        // exchange sends the head at once and relays the server's 100, which the pump turns into a HEADERS frame
        // (RFC 9113 §8.1), so the client sends its body without waiting out its own timer. TE can only be "trailers"
        // (the validator refuses anything else) and goes on as it is: the exchange forwards "TE: trailers" (gRPC
        // servers require it), and the pump passes trailers back.
        if (name.SequenceEqual("host"u8) && _authorityAt >= 0) return;
        if (name.SequenceEqual("content-length"u8))
        {
            // Kept as sent (the HTTP/1.1 parser judges it); parsed here to check DATA against it (§8.1.1).
            if (Utf8Parser.TryParse(value, out long length, out int consumed) && consumed == value.Length && length >= 0) DeclaredLength = length;
        }
        if (_fieldsAt < 0) _fieldsAt = _head.Length;
        _head.Append(name);
        _head.Append(": "u8);
        _head.Append(value);
        _head.Append("\r\n"u8);
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
        if (Validator.Complete() != Http2FieldError.None || !HasMethod) return false;
        Method = HttpMethods.Lookup(MethodBytes);
        // Extended CONNECT (RFC 8441) is not offered (SETTINGS_ENABLE_CONNECT_PROTOCOL is never sent).
        if (Method == HttpMethod.Connect && _pathAt >= 0) return false;
        // §8.1.1: a request that ends with its headers has no body: a Content-Length above 0 is a lie.
        if (endStream && DeclaredLength > 0) return false;
        Chunked = !endStream && DeclaredLength < 0;
        return true;
    }

    /// <summary>Octets <see cref="WriteHead(IBufferWriter{byte})"/> writes (after <see cref="Accept"/>).</summary>
    public int HeadLength
        => _methodLength + 1 + (_pathAt >= 0 ? _pathLength : _authorityAt >= 0 ? _authorityLength : 1) + 11
            + (_authorityAt < 0 ? 0 : 8 + _authorityLength)
            + FieldBytes.Length
            + (_hasCookies ? 10 + _cookies.Length : 0)
            + (Chunked ? 28 : 0) + 2;

    /// <summary>
    /// The HTTP/1.1 request head (after <see cref="Accept"/>), into <paramref name="writer"/> (not flushed). The
    /// decoded fields' buffers go back to their pool here: nothing reads them after.
    /// </summary>
    public void WriteHead(IBufferWriter<byte> writer)
    {
        writer.Write(MethodBytes);
        writer.Write(" "u8);
        // CONNECT's target is the authority (RFC 9113 §8.5); the HTTP/1.1 parser answers it (501: not a tunnel proxy).
        writer.Write(_pathAt >= 0 ? PathBytes : _authorityAt >= 0 ? AuthorityBytes : "/"u8);
        writer.Write(" HTTP/1.1\r\n"u8);
        if (_authorityAt >= 0)
        {
            writer.Write("Host: "u8);
            writer.Write(AuthorityBytes);
            writer.Write("\r\n"u8);
        }
        writer.Write(FieldBytes);
        if (_hasCookies)
        {
            writer.Write("Cookie: "u8);
            writer.Write(_cookies.Span);
            writer.Write("\r\n"u8);
        }
        if (Chunked) writer.Write("Transfer-Encoding: chunked\r\n"u8);
        writer.Write("\r\n"u8);
        ReleaseHead();
    }

    /// <summary>Gives the decoded fields' buffers back (a stream dropped before its head was written just leaves them to the GC).</summary>
    private void ReleaseHead()
    {
        _methodAt = _pathAt = _authorityAt = _fieldsAt = -1;
        _hasCookies = false;
        _head.Return();
        _cookies.Return();
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

    public override string ToString() => $"stream {Id} {Encoding.ASCII.GetString(MethodBytes)} {Encoding.ASCII.GetString(PathBytes)}";

    /// <summary>A growable byte buffer rented from <see cref="ArrayPool{T}.Shared"/>, empty until first written.</summary>
    private struct RentedBytes
    {
        private byte[]? _array;

        public int Length { get; private set; }

        public readonly ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

        public readonly ReadOnlySpan<byte> Slice(int start, int length) => _array.AsSpan(start, length);

        /// <summary>Appends <paramref name="bytes"/>; returns where they start.</summary>
        public int Append(ReadOnlySpan<byte> bytes)
        {
            int at = Length;
            if (_array is null || _array.Length - Length < bytes.Length)
            {
                // 256 holds a typical request's fields; the HPACK decoder bounds the whole list (64 KiB).
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(256, (Length + bytes.Length) * 2));
                if (_array is not null)
                {
                    _array.AsSpan(0, Length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(_array);
                }
                _array = bigger;
            }
            bytes.CopyTo(_array.AsSpan(Length));
            Length += bytes.Length;
            return at;
        }

        public void Return()
        {
            if (_array is not null) ArrayPool<byte>.Shared.Return(_array);
            _array = null;
            Length = 0;
        }
    }
}
