using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastProxy.Async;
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
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyCopy> CopyStagedResponseAsync(UpstreamConnection connection, Upstream upstream, BodyKind kind, bool chunkedOut, bool clientKeepAlive)
    {
        var context = _policyContext!;
        bool completed = false;
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
            var input = connection.Input;
            ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ClientConnectionHeader(clientKeepAlive), dropTransferEncoding, false,
                context, _trace);
            input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
            ReleaseResponseScratch();

            long remaining = kind == BodyKind.ContentLength ? _response.ContentLength : long.MaxValue;
            if (kind == BodyKind.Chunked) _responseDecoder = new ChunkedDecoder(maxBody: 0, ResponseLimits.MaxHeaderBytes, ResponseLimits.MaxHeaders);
            var trailers = _stageTrailers;
            trailers?.Clear();
            while (true)
            {
                bool timedOut = false;
                if (!input.TryRead(out var result))
                {
                    // The upstream has nothing more for now: a flush point. What the stages hold goes to the client.
                    EmitStaged(context.StageFlush(), chunkedOut);
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

                bool done = false;
                long take;
                switch (kind)
                {
                    case BodyKind.ContentLength:
                        take = Math.Min(buffer.Length, remaining);
                        foreach (var segment in buffer.Slice(0, take)) EmitStaged(context.StageWrite(segment.Span), chunkedOut);
                        remaining -= take;
                        done = remaining == 0;
                        break;
                    case BodyKind.Chunked:
                        take = 0;
                        foreach (var segment in buffer)
                        {
                            var span = segment.Span;
                            while (!span.IsEmpty)
                            {
                                var step = _responseDecoder.Next(span, out int consumed);
                                if (step == ChunkedStep.Error)
                                {
                                    input.AdvanceTo(buffer.Start);
                                    return BodyCopy.Invalid;
                                }
                                if (step == ChunkedStep.Data) EmitStaged(context.StageWrite(span[..consumed]), chunkedOut);
                                else if (step == ChunkedStep.Trailer && chunkedOut) (trailers = _stageTrailers ??= new PooledBufferWriter()).Write(span[..consumed]);
                                take += consumed;
                                span = span[consumed..];
                                if (step == ChunkedStep.Done) { done = true; break; }
                            }
                            if (done) break;
                        }
                        break;
                    default:
                        take = buffer.Length;
                        foreach (var segment in buffer) EmitStaged(context.StageWrite(segment.Span), chunkedOut);
                        done = result.IsCompleted;
                        break;
                }

                input.AdvanceTo(buffer.GetPosition(take));
                if (done)
                {
                    EmitStaged(context.StageComplete(), chunkedOut);
                    if (chunkedOut)
                    {
                        _output.Write("0\r\n"u8);
                        if (trailers is { WrittenCount: > 0 }) _output.Write(trailers.WrittenSpan);
                        _output.Write("\r\n"u8);
                        if (_recording) _record!.BytesOut += 5 + (trailers?.WrittenCount ?? 0);
                    }
                    completed = true;
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
            context.EndStages(completed);
            _stageTrailers?.Clear();
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
