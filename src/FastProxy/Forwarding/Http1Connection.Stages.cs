using System.Buffers;
using System.Buffers.Text;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

/// <summary>
/// Response bodies streamed through the chain's response stages (IResponseStreamPolicy: compress, the cache's
/// capture). Only when the route's chain has such a policy and one of its stages takes the response: the body is
/// decoded as it comes (Content-Length, chunked or read to the close), each piece goes through the stages and on to
/// the client, and each time the upstream has nothing more to read for now the stages are flushed and so is the
/// client (server-sent events and long polls are not held back). A transformed body loses its length: it goes chunked
/// to an HTTP/1.1 client (DATA frames on HTTP/2, through the stream's pump), ended by closing to an HTTP/1.0 one.
/// A body only observed keeps its framing (its Content-Length; chunked stays chunked, with its trailers).
/// </summary>
internal sealed partial class Http1Connection
{
    private static readonly byte[] s_transferEncodingName = "transfer-encoding"u8.ToArray();
    private static readonly byte[] s_chunkedValue = "chunked"u8.ToArray();

    /// <summary>A chunked upstream body's trailer section, kept to end a re-chunked body with (made on first use).</summary>
    private PooledBufferWriter? _stageTrailers;

    /// <summary>Offers the response to the chain's streaming stages: true when one took it (then <see cref="CopyStagedResponseAsync"/> sends it).</summary>
    private bool BeginResponseStages(BodyKind kind)
    {
        if (_chain is not { HasResponseStages: true } chain || kind == BodyKind.None) return false;
        return chain.BeginResponseStages(_policyContext!, new ResponseView(_response, ResponseHeadBytes),
            new ResponseBodyInfo(kind == BodyKind.ContentLength ? _response.ContentLength : -1, _request.Version == HttpVersion.Http10));
    }

    /// <summary>
    /// How a staged body reaches the client: chunked (<paramref name="chunkedOut"/>), with the upstream's
    /// Content-Length, or ended by closing (false: the client connection cannot be kept).
    /// </summary>
    private bool StagedFraming(BodyKind kind, out bool chunkedOut)
    {
        bool transform = _policyContext!.StagesTransform;
        chunkedOut = _request.Version != HttpVersion.Http10 && (transform || kind == BodyKind.Chunked);
        return chunkedOut || (!transform && kind == BodyKind.ContentLength);
    }

    /// <summary>
    /// Writes the head (edited for the stages) and streams the body through them. Complete: done, the upstream
    /// connection is at the end of the response and the last bytes are written but not flushed (see ExchangeAsync).
    /// </summary>
    private ValueTask<BodyCopy> CopyStagedResponseAsync(UpstreamConnection connection, Upstream upstream, BodyKind kind, bool chunkedOut, bool clientKeepAlive)
    {
        var context = _policyContext!;
        try
        {
            bool transform = context.StagesTransform;
            if (transform)
            {
                context.RemoveResponseHeader(s_contentLength);
                if (chunkedOut) context.AddResponseHeader(s_transferEncodingName, s_chunkedValue);
            }
            // A transformed body is re-framed; an observed one keeps the upstream's framing (de-chunked for HTTP/1.0).
            bool dropTransferEncoding = transform || (_response.IsChunked && _request.Version == HttpVersion.Http10);
            ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ClientConnectionHeader(clientKeepAlive), dropTransferEncoding, false,
                context, _trace);
            connection.Input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
            ReleaseResponseScratch();
        }
        catch
        {
            context.EndStages(false);
            throw;
        }
        return CopyResponseBodyAsync(connection, upstream, kind, new StagedBody(this, context, chunkedOut));
    }

    /// <summary>
    /// The body through the stages: each piece of data to them, what they make to the client (as chunks, or as it is);
    /// at each flush point of the upstream, what they hold; a chunked body's trailers kept to end the re-chunked one.
    /// </summary>
    private readonly struct StagedBody(Http1Connection owner, PolicyContext context, bool chunkedOut) : IResponseBodySink
    {
        public bool Streams => true;
        public bool CountsTaken => false;
        public bool Full => false;

        public void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes)
        {
            if (step == ChunkedStep.Data) owner.EmitStaged(context.StageWrite(bytes), chunkedOut);
            else if (step == ChunkedStep.Trailer && chunkedOut) (owner._stageTrailers ??= new PooledBufferWriter()).Write(bytes);
        }

        public void OnContent(in ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes) owner.EmitStaged(context.StageWrite(segment.Span), chunkedOut);
        }

        /// <summary>The upstream has nothing more for now: a flush point. What the stages hold goes to the client.</summary>
        public void OnIdle() => owner.EmitStaged(context.StageFlush(), chunkedOut);

        public void OnEnd()
        {
            owner.EmitStaged(context.StageComplete(), chunkedOut);
            if (!chunkedOut) return;
            var output = owner._output;
            var trailers = owner._stageTrailers;
            output.Write("0\r\n"u8);
            if (trailers is { WrittenCount: > 0 }) output.Write(trailers.WrittenSpan);
            output.Write("\r\n"u8);
            if (owner._recording) owner._record!.BytesOut += 5 + (trailers?.WrittenCount ?? 0);
        }

        public void OnExit(bool completed)
        {
            context.EndStages(completed);
            owner._stageTrailers?.Clear();
        }
    }

    /// <summary>Bytes the stages made for the client: as one chunk, or as they are. Nothing for nothing (an empty chunk would end the body).</summary>
    private void EmitStaged(ReadOnlySpan<byte> bytes, bool chunked)
    {
        if (bytes.IsEmpty) return;
        if (chunked)
        {
            Span<byte> size = stackalloc byte[18];
            Utf8Formatter.TryFormat((ulong)bytes.Length, size, out int n, new StandardFormat('x'));
            size[n++] = (byte)'\r';
            size[n++] = (byte)'\n';
            _output.Write(size[..n]);
            _output.Write(bytes);
            _output.Write("\r\n"u8);
            if (_recording) _record!.BytesOut += n + 2;
        }
        else
        {
            _output.Write(bytes);
        }
        if (_recording) _record!.BytesOut += bytes.Length;
    }
}
