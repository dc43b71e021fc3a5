using System.Buffers;
using System.Text;
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
    /// group (400); more than max_body (or 8 MiB without it) of text (413, a Content-Length one before any 100 Continue).
    /// </summary>
    private ValueTask<Intake> BufferGrpcWebTextAsync(ListenerRuntime runtime)
    {
        KeepHead();
        var body = _bufferedBody ??= new BufferedRequestBody();
        _grpcWeb!.Decoder = default;
        if (!_request.HasBody)
        {
            _bodyBuffered = true;
            return new ValueTask<Intake>(Intake.Ready);
        }
        long limit = runtime.MaxBody > 0 ? runtime.MaxBody : GrpcWebTextBodyLimit;
        if (!_request.IsChunked && _request.ContentLength > limit) return new ValueTask<Intake>(Reject(413, HeadError.None));
        return ReadRequestBodyAsync(runtime, limit, new Base64Body(this, body));
    }

    /// <summary>A text request body, base64-decoded onto the buffered body as it comes; it must end on a group boundary.</summary>
    private readonly struct Base64Body(Http1Connection owner, BufferedRequestBody body) : IRequestBodySink
    {
        public bool Failed => owner._grpcWeb!.Decoder.Failed;
        public bool CanEnd => owner._grpcWeb!.Decoder.IsAtGroupBoundary;

        public void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes)
        {
            if (step == ChunkedStep.Data) owner.AppendGrpcWebText(bytes, body);
        }

        public void OnContent(in ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes) owner.AppendGrpcWebText(segment.Span, body);
        }
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
    /// As every response body (<see cref="CopyResponseBodyAsync{TSink}"/>): read_timeout between reads, the last bytes left unflushed.
    /// </summary>
    private ValueTask<BodyCopy> CopyGrpcWebBodyAsync(UpstreamConnection connection, Upstream upstream, BodyKind kind, bool chunkedOut)
    {
        var state = _grpcWeb!;
        state.Encoder = default;
        state.TrailersLength = 0;
        return CopyResponseBodyAsync(connection, upstream, kind, new GrpcWebBody(this, chunkedOut));
    }

    /// <summary>The upstream's body: data relayed as gRPC-Web, a chunked body's trailer section kept for the trailer frame.</summary>
    private readonly struct GrpcWebBody(Http1Connection owner, bool chunkedOut) : IResponseBodySink
    {
        public bool Streams => true;
        public bool CountsTaken => true;
        public bool Full => false;

        public void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes)
        {
            if (step == ChunkedStep.Data) owner.WriteGrpcWebData(bytes, chunkedOut);
            else if (step == ChunkedStep.Trailer) owner._grpcWeb!.AppendTrailers(bytes);
        }

        public void OnContent(in ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes) owner.WriteGrpcWebData(segment.Span, chunkedOut);
        }

        public void OnIdle() { }
        public void OnEnd() => owner.WriteGrpcWebEnd(chunkedOut);
        public void OnExit(bool completed) => owner._grpcWeb!.ReleaseBuffers();
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
