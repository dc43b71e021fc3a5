using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using FastProxy.Async;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Http1.GrpcWeb;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

/// <summary>
/// gRPC-Web to gRPC on a route with <c>grpc_web = true</c> (as Envoy's grpc_web filter; the wire format is in
/// FastProxy.Http1/GrpcWeb). A request whose content-type is application/grpc-web[-text][+codec] goes upstream (h2c/h2,
/// which adds <c>te: trailers</c>) as application/grpc[+codec]; a text request's body is base64-decoded first, read
/// whole (gRPC-Web has no client streaming: a request is one message) within max_body and sent with its decoded
/// Content-Length. A gRPC answer (application/grpc*) comes back with the client's gRPC-Web content-type, chunked,
/// its messages as they come and the upstream's trailers as the last frame of the body (flag 0x80), all base64 for
/// a text client (the request was -text, or Accept asked for it). A Trailers-Only answer (grpc-status in the head,
/// no body) keeps its status in the head, which PROTOCOL-WEB.md allows. Anything else passes as before.
/// The response is written as HTTP/1.1 bytes, so an h2 client gets it through the same conversion to frames.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>A text request body larger than this (base64, when max_body is not set) is refused with 413.</summary>
    private const long GrpcWebTextBodyLimit = 8 * 1024 * 1024;

    /// <summary>The request in progress is gRPC-Web on a grpc_web route (<see cref="_grpcWeb"/> describes it).</summary>
    private bool _grpcWebActive;

    /// <summary>Made the first time this pooled instance serves a gRPC-Web request, then reused.</summary>
    private GrpcWebState? _grpcWeb;

    private sealed class GrpcWebState
    {
        public GrpcWebFraming Request;
        public bool TextResponse;
        public readonly byte[] Suffix = new byte[GrpcWebContentType.MaxSuffixLength];
        public int SuffixLength;
        /// <summary>"content-type: application/grpc[+codec]\r\n", the line the upstream gets instead of the client's.</summary>
        public readonly byte[] UpstreamLine = new byte[GrpcWebContentType.MaxLength + 16];
        public int UpstreamLineLength;
        /// <summary>The client's content-type and framing for the answer, written in place of the upstream's.</summary>
        public readonly byte[] ResponseLines = new byte[GrpcWebContentType.MaxLength + 64];
        public GrpcWebTextDecoder Decoder;
        public GrpcWebTextEncoder Encoder;
        /// <summary>The upstream's trailer section, as the chunked decoder hands it out (rented while a response is relayed).</summary>
        public byte[]? Trailers;
        public int TrailersLength;
        /// <summary>Room for base64 output (rented while a text response is relayed).</summary>
        public byte[]? Scratch;

        public ReadOnlySpan<byte> SuffixSpan => Suffix.AsSpan(0, SuffixLength);

        public void AppendTrailers(ReadOnlySpan<byte> lines)
        {
            if (Trailers is null || Trailers.Length - TrailersLength < lines.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(1024, 2 * (TrailersLength + lines.Length)));
                Trailers?.AsSpan(0, TrailersLength).CopyTo(bigger);
                if (Trailers is not null) ArrayPool<byte>.Shared.Return(Trailers);
                Trailers = bigger;
            }
            lines.CopyTo(Trailers.AsSpan(TrailersLength));
            TrailersLength += lines.Length;
        }

        public void ReleaseBuffers()
        {
            if (Trailers is not null) ArrayPool<byte>.Shared.Return(Trailers);
            if (Scratch is not null) ArrayPool<byte>.Shared.Return(Scratch);
            Trailers = Scratch = null;
            TrailersLength = 0;
        }
    }

    /// <summary>
    /// On a grpc_web route: is the request gRPC-Web? Reads its content-type (and Accept, for a text answer) and
    /// prepares the upstream's content-type line. Per request on such routes only.
    /// </summary>
    private bool DetectGrpcWeb()
    {
        var head = RequestHeadBytes;
        GrpcWebFraming framing = GrpcWebFraming.None;
        bool acceptsText = false;
        int suffixStart = 0, suffixLength = 0;
        ReadOnlySpan<byte> contentType = default;
        foreach (ref readonly HeaderField field in _request.Fields)
        {
            var name = field.Name(head);
            if (name.Length == 12 && Ascii.EqualsIgnoreCase(name, "content-type"u8))
            {
                // Two content-types are ambiguous: not ours to guess.
                if (framing != GrpcWebFraming.None) return false;
                contentType = field.Value(head);
                framing = GrpcWebContentType.Classify(contentType, out suffixStart, out suffixLength);
                if (framing == GrpcWebFraming.None) return false;
            }
            else if (name.Length == 6 && Ascii.EqualsIgnoreCase(name, "accept"u8))
            {
                acceptsText |= GrpcWebContentType.AcceptsText(field.Value(head));
            }
        }
        if (framing == GrpcWebFraming.None) return false;
        var state = _grpcWeb ??= new GrpcWebState();
        state.Request = framing;
        state.TextResponse = framing == GrpcWebFraming.Text || acceptsText;
        contentType.Slice(suffixStart, suffixLength).CopyTo(state.Suffix);
        state.SuffixLength = suffixLength;
        var line = state.UpstreamLine.AsSpan();
        "content-type: "u8.CopyTo(line);
        int w = 14 + GrpcWebContentType.WriteGrpc(state.SuffixSpan, line[14..]);
        "\r\n"u8.CopyTo(line[w..]);
        state.UpstreamLineLength = w + 2;
        return true;
    }

    /// <summary>The upstream's content-type line for the request in progress; empty when it is not gRPC-Web.</summary>
    private ReadOnlySpan<byte> GrpcWebUpstreamLine => _grpcWebActive ? _grpcWeb!.UpstreamLine.AsSpan(0, _grpcWeb.UpstreamLineLength) : default;

    private bool GrpcWebTextRequest => _grpcWebActive && _grpcWeb!.Request == GrpcWebFraming.Text;

    /// <summary>The upstream answered as a gRPC server does (application/grpc[+codec]): the answer is converted.</summary>
    private bool IsGrpcResponse()
    {
        var head = ResponseHeadBytes;
        foreach (ref readonly HeaderField field in _response.Fields)
        {
            var name = field.Name(head);
            if (name.Length == 12 && Ascii.EqualsIgnoreCase(name, "content-type"u8)) return GrpcWebContentType.IsGrpc(field.Value(head));
        }
        return false;
    }

    /// <summary>
    /// The lines that replace the upstream's content-type and framing in the answer's head: the client's gRPC-Web
    /// content-type, then "transfer-encoding: chunked" (<paramref name="chunked"/>), "content-length: 0" (no body), or
    /// nothing (an HTTP/1.0 client: the body ends with the connection).
    /// </summary>
    private ReadOnlySpan<byte> GrpcWebResponseLines(bool bodiless, bool chunked)
    {
        var state = _grpcWeb!;
        var lines = state.ResponseLines.AsSpan();
        "content-type: "u8.CopyTo(lines);
        int w = 14 + GrpcWebContentType.WriteGrpcWeb(state.TextResponse ? GrpcWebFraming.Text : GrpcWebFraming.Binary, state.SuffixSpan, lines[14..]);
        var framing = bodiless ? "\r\ncontent-length: 0\r\n"u8 : chunked ? "\r\ntransfer-encoding: chunked\r\n"u8 : "\r\n"u8;
        framing.CopyTo(lines[w..]);
        return lines[..(w + framing.Length)];
    }

    /// <summary>
    /// Reads a gRPC-Web text request's body whole, base64-decoding it as it arrives (4-character groups across reads)
    /// into <see cref="_bufferedBody"/>: it goes upstream with its decoded Content-Length. Content-Length or chunked
    /// (an HTTP/2 stream without content-length arrives chunked). Refused: invalid base64, or a body that ends inside a
    /// group (400); more than max_body (or 8 MiB without it) of text (413).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Intake> BufferGrpcWebTextAsync(ListenerRuntime runtime)
    {
        KeepHead();
        var body = _bufferedBody ??= new BufferedRequestBody();
        var state = _grpcWeb!;
        state.Decoder = default;
        if (!_request.HasBody)
        {
            _bodyBuffered = true;
            return Intake.Ready;
        }
        if (_request.ExpectContinue && _request.Version == HttpVersion.Http11)
        {
            // The proxy reads the body now, so the go-ahead is the proxy's (as for request_buffering).
            _output.Write("HTTP/1.1 100 Continue\r\n\r\n"u8);
            if ((await _output.FlushAsync()).IsCompleted) return Intake.Closed;
        }
        long limit = runtime.MaxBody > 0 ? runtime.MaxBody : GrpcWebTextBodyLimit;
        bool chunked = _request.IsChunked;
        if (chunked) _requestDecoder = new ChunkedDecoder(limit, runtime.HeadLimits.MaxHeaderBytes, runtime.HeadLimits.MaxHeaders);
        else if (_request.ContentLength > limit) return Reject(413, HeadError.None);
        long remaining = chunked ? long.MaxValue : _request.ContentLength;
        var buffer = _requestBuffer.Slice(_request.HeadLength);
        bool completed = false;
        _clientDeadline.Arm(_input, runtime.IdleTimeoutMs);
        try
        {
            while (true)
            {
                long consumed = 0;
                bool done = false;
                if (chunked)
                {
                    var step = DecodeTextChunks(buffer, body, out consumed);
                    if (step == ChunkedStep.Error) return RejectBody();
                    done = step == ChunkedStep.Done;
                }
                else
                {
                    consumed = Math.Min(buffer.Length, remaining);
                    foreach (var segment in buffer.Slice(0, consumed)) AppendGrpcWebText(segment.Span, body);
                    remaining -= consumed;
                    done = remaining == 0;
                }
                if (state.Decoder.Failed) return Reject(400, HeadError.None);
                if (done)
                {
                    if (!state.Decoder.IsAtGroupBoundary) return Reject(400, HeadError.None);
                    _input.AdvanceTo(buffer.GetPosition(consumed));
                    _requestBuffer = default;
                    _bodyBuffered = true;
                    _bodyComplete = true;
                    _bodyAvailable = 0;
                    return Intake.Ready;
                }
                _input.AdvanceTo(buffer.End);
                if (completed)
                {
                    // The client went away in the middle of its body: nothing to forward, nobody to answer.
                    _requestBuffer = default;
                    return Intake.Closed;
                }
                var result = await _input.ReadAsync();
                _requestBuffer = buffer = result.Buffer;
                if (result.IsCanceled && _clientDeadline.TimedOut) return Reject(408, HeadError.None);
                completed = result.IsCompleted;
            }
        }
        finally
        {
            _clientDeadline.Disarm();
        }
    }

    /// <summary>Runs the chunked decoder over <paramref name="buffer"/>, decoding the data into <paramref name="body"/>.</summary>
    private ChunkedStep DecodeTextChunks(in ReadOnlySequence<byte> buffer, BufferedRequestBody body, out long consumed)
    {
        consumed = 0;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var step = _requestDecoder.Next(span, out int n);
                if (step == ChunkedStep.Error) return step;
                if (step == ChunkedStep.Data) AppendGrpcWebText(span[..n], body);
                consumed += n;
                if (step == ChunkedStep.Done) return step;
                span = span[n..];
            }
        }
        return ChunkedStep.Framing;
    }

    /// <summary>Base64-decodes a piece of a text body onto <paramref name="body"/>; stops at the first invalid character (the decoder says so).</summary>
    private void AppendGrpcWebText(ReadOnlySpan<byte> text, BufferedRequestBody body)
    {
        ref var decoder = ref _grpcWeb!.Decoder;
        Span<byte> decoded = stackalloc byte[3 * 1024 + 3];
        while (!text.IsEmpty && !decoder.Failed)
        {
            var piece = text.Length > 4096 ? text[..4096] : text;
            int n = decoder.Decode(piece, decoded);
            if (n > 0) body.Append(decoded[..n]);
            text = text[piece.Length..];
        }
    }

    /// <summary>
    /// Relays a gRPC answer's body as gRPC-Web: messages as they come (base64 for a text client), then the trailer
    /// section as the last frame, chunked (<paramref name="chunkedOut"/>) or, to an HTTP/1.0 client, as raw bytes.
    /// As <see cref="CopyResponseBodyAsync"/>: read_timeout between reads, the last bytes left unflushed.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyCopy> CopyGrpcWebBodyAsync(UpstreamConnection connection, Upstream upstream, BodyKind kind, bool chunkedOut)
    {
        var state = _grpcWeb!;
        state.Encoder = default;
        state.TrailersLength = 0;
        var input = connection.Input;
        long remaining = kind == BodyKind.ContentLength ? _response.ContentLength : long.MaxValue;
        if (kind == BodyKind.Chunked) _responseDecoder = new ChunkedDecoder(maxBody: 0, ResponseLimits.MaxHeaderBytes, ResponseLimits.MaxHeaders);
        try
        {
            while (true)
            {
                bool timedOut = false;
                if (!input.TryRead(out var result))
                {
                    var flushed = await _output.FlushAsync();
                    if (flushed.IsCompleted) return BodyCopy.DestinationClosed;
                    _upstreamDeadline.Arm(input, Budget(upstream.ReadTimeoutMs));
                    result = await input.ReadAsync();
                    timedOut = result.IsCanceled && _upstreamDeadline.TimedOut;
                    _upstreamDeadline.Disarm();
                }
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    input.AdvanceTo(buffer.Start);
                    if (timedOut) return BodyCopy.TimedOut;
                    continue;
                }

                bool done;
                long take;
                if (kind == BodyKind.Chunked)
                {
                    var step = RelayGrpcChunks(buffer, chunkedOut, out take);
                    if (step == ChunkedStep.Error)
                    {
                        input.AdvanceTo(buffer.Start);
                        return BodyCopy.Invalid;
                    }
                    done = step == ChunkedStep.Done;
                }
                else
                {
                    take = kind == BodyKind.ContentLength ? Math.Min(buffer.Length, remaining) : buffer.Length;
                    foreach (var segment in buffer.Slice(0, take)) WriteGrpcWebData(segment.Span, chunkedOut);
                    remaining -= take;
                    done = kind == BodyKind.ContentLength ? remaining == 0 : result.IsCompleted;
                }

                input.AdvanceTo(buffer.GetPosition(take));
                if (_recording) _record!.BytesOut += take;
                if (done)
                {
                    WriteGrpcWebEnd(chunkedOut);
                    return BodyCopy.Complete;
                }
                if (result.IsCompleted)
                {
                    await _output.FlushAsync();
                    return BodyCopy.Truncated;
                }
                if (_output.UnflushedBytes >= Transport.PipeSettings.LargeBlock)
                {
                    var flushed = await _output.FlushAsync();
                    if (flushed.IsCompleted) return BodyCopy.DestinationClosed;
                }
            }
        }
        finally
        {
            _upstreamDeadline.Disarm();
            state.ReleaseBuffers();
        }
    }

    /// <summary>The upstream's chunked body: data relayed as gRPC-Web, the trailer section kept for the trailer frame.</summary>
    private ChunkedStep RelayGrpcChunks(in ReadOnlySequence<byte> buffer, bool chunkedOut, out long take)
    {
        take = 0;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var step = _responseDecoder.Next(span, out int consumed);
                if (step == ChunkedStep.Error) return step;
                if (step == ChunkedStep.Data) WriteGrpcWebData(span[..consumed], chunkedOut);
                else if (step == ChunkedStep.Trailer) _grpcWeb!.AppendTrailers(span[..consumed]);
                take += consumed;
                span = span[consumed..];
                if (step == ChunkedStep.Done) return step;
            }
        }
        return ChunkedStep.Framing;
    }

    /// <summary>Message bytes to the client: as they are, or base64 (frame by frame, each padded at its end).</summary>
    private void WriteGrpcWebData(ReadOnlySpan<byte> data, bool chunkedOut)
    {
        var state = _grpcWeb!;
        if (!state.TextResponse)
        {
            WriteChunk(_output, data, chunkedOut);
            return;
        }
        const int Slice = 12 * 1024;
        var scratch = state.Scratch ??= ArrayPool<byte>.Shared.Rent(GrpcWebTextEncoder.MaxEncodedLength(Slice));
        while (!data.IsEmpty)
        {
            var piece = data.Length > Slice ? data[..Slice] : data;
            int n = state.Encoder.Encode(piece, scratch);
            WriteChunk(_output, scratch.AsSpan(0, n), chunkedOut);
            data = data[piece.Length..];
        }
    }

    /// <summary>The end of the body: the trailer frame (when the upstream sent trailers), then the last chunk.</summary>
    private void WriteGrpcWebEnd(bool chunkedOut)
    {
        var state = _grpcWeb!;
        if (state.TextResponse && state.Scratch is { } scratch)
        {
            // A body cut inside a frame: what is carried goes out padded.
            int n = state.Encoder.Flush(scratch);
            WriteChunk(_output, scratch.AsSpan(0, n), chunkedOut);
        }
        if (state.TrailersLength > 0)
        {
            var section = state.Trailers.AsSpan(0, state.TrailersLength);
            var frame = ArrayPool<byte>.Shared.Rent(GrpcWebTrailerFrame.MaxLength(section));
            int length = GrpcWebTrailerFrame.Write(section, frame);
            WriteGrpcWebData(frame.AsSpan(0, length), chunkedOut);
            ArrayPool<byte>.Shared.Return(frame);
        }
        if (chunkedOut) _output.Write("0\r\n\r\n"u8);
    }

    private static void WriteChunk(IBufferWriter<byte> output, ReadOnlySpan<byte> data, bool chunked)
    {
        if (data.IsEmpty) return;
        if (chunked)
        {
            Span<byte> size = stackalloc byte[16];
            System.Buffers.Text.Utf8Formatter.TryFormat((ulong)data.Length, size, out int n, new StandardFormat('x'));
            output.Write(size[..n]);
            output.Write("\r\n"u8);
        }
        output.Write(data);
        if (chunked) output.Write("\r\n"u8);
    }
}
