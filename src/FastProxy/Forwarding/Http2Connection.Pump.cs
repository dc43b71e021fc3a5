using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Http1;
using FastProxy.Http2.Frames;
using FastProxy.Http2.HPack;
using FastProxy.Observability.Tracing;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

/// <summary>
/// The response pump: one stream's HTTP/1.1 response bytes, as its exchange writes them into the stream's pipe, turned
/// into HEADERS and DATA frames. The frames themselves: Http2Connection.ResponseFrames.cs; chunked bodies, trailers and
/// gRPC's held heads: Http2Connection.Chunked.cs; the shared flush: Http2Connection.Flush.cs; a response answered
/// without the pump: Http2Connection.Answer.cs.
/// </summary>
internal sealed partial class Http2Connection
{
    /// <summary>
    /// The pumps' response heads: one per stream in flight, reset with their field arrays given back (a head dropped
    /// with its array would cost the field-array pool an array per stream).
    /// </summary>
    private static readonly Microsoft.Extensions.ObjectPool.ObjectPool<ResponseHead> s_responseHeads =
        new Microsoft.Extensions.ObjectPool.DefaultObjectPool<ResponseHead>(new ResponseHeadPolicy(), maximumRetained: 1024);

    private sealed class ResponseHeadPolicy : Microsoft.Extensions.ObjectPool.IPooledObjectPolicy<ResponseHead>
    {
        public ResponseHead Create() => new();

        public bool Return(ResponseHead head)
        {
            head.Reset();
            head.ReleaseFields();
            return true;
        }
    }

    private enum Sent : byte
    {
        /// <summary>The frame went out.</summary>
        Ok,
        /// <summary>The stream was reset or the connection is closing: stop.</summary>
        Stopped,
    }

    /// <summary>The stream's exchange handed over its first HTTP/1.1 bytes (see <see cref="Http2ResponseWriter"/>): they are pumped from here.</summary>
    internal void StartPump(Http2Stream stream)
    {
        // Called by the exchange, which owns the record: the pump owns it too until it ends.
        if (!stream.TryRetain()) throw new InvalidOperationException($"stream {stream.Id} pumped after it ended");
        Interlocked.Increment(ref _runningPumps);
        // A pooled state machine (a new one per stream was ~360 bytes for every response the pump carries: cache hits,
        // mocks, static files, policy refusals). Its value task must be read once to give the box back: here when the
        // pump ended at once, else by the record's cached continuation (stream.PumpEnded, made once per record).
        var pump = PumpAsync(stream);
        if (pump.IsCompleted)
        {
            EndPump(stream, pump);
            return;
        }
        stream.Pump = pump;
        pump.GetAwaiter().UnsafeOnCompleted(stream.PumpEnded);
    }

    /// <summary>
    /// The pump of <paramref name="stream"/> ended: its box goes back to the pool, and only then does the pump let go
    /// of the record (which may then serve another stream, with another pump, at once).
    /// </summary>
    internal void EndPump(Http2Stream stream, ValueTask pump)
    {
        try
        {
            pump.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            // Not a connection error (those end the pump quietly): a bug, logged rather than lost with the task.
            Diagnostics.Log.ConnectionFailed(_listener.Name, ex);
        }
        Interlocked.Decrement(ref _runningPumps);
        stream.Release();
    }

    /// <summary>
    /// One stream's response, from the HTTP/1.1 bytes its exchange writes to HEADERS and DATA frames. 1xx heads go
    /// as interim HEADERS; connection-specific fields are removed (§8.2.2) and names lowercased; the body is unframed
    /// (Content-Length, chunked, or up to the close) and sent as the client's windows allow, reading the pipe no
    /// faster than that; a chunked body's trailer fields become a last HEADERS frame with END_STREAM (§8.1).
    /// </summary>
    /// <remarks>The caller, <see cref="StartPump"/>, reads the value task once (that recycles the box) and then releases the record.</remarks>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask PumpAsync(Http2Stream stream)
    {
        var reader = stream.Response!.Reader;
        var head = s_responseHeads.Get();
        byte[]? scratch = null;
        int scratchLength = 0;
        bool ended = false;
        try
        {
            // 1. The final response head.
            ReadResult result;
            ReadOnlySequence<byte> buffer;
            while (true)
            {
                head.Reset();
                ParseStatus status;
                while (true)
                {
                    result = await reader.ReadAsync();
                    buffer = result.Buffer;
                    if (stream.Aborted) return;
                    status = buffer.IsEmpty ? ParseStatus.NeedMore
                        : ResponseParser.Parse(Http1Connection.GetContiguous(buffer, ref scratch, ref scratchLength, Http1Connection.MaxResponseHeadBytes),
                            head, Http1Connection.ResponseLimits);
                    if (status != ParseStatus.NeedMore || result.IsCompleted) break;
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (status != ParseStatus.Complete)
                {
                    // The exchange ended without an answer (the client's request failed on its side): nothing to convert.
                    await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                    return;
                }
                if (head.StatusCode >= 200) break;
                // 1xx (100 Continue for a client's Expect, 103 Early Hints): an interim HEADERS frame without
                // END_STREAM, before the final one (RFC 9113 §8.1). The exchange relays no 101 to a stream (an HTTP/2
                // request carries no Upgrade).
                if (await SendHeadersAsync(stream, head, buffer, scratch, scratchLength, endStream: false) != Sent.Ok) return;
                reader.AdvanceTo(buffer.GetPosition(head.HeadLength));
                ReturnScratch(ref scratch, ref scratchLength);
            }

            var kind = head.GetBodyKind(stream.Method);
            bool endOnHeaders = kind == BodyKind.None;
            if (kind == BodyKind.Chunked && HoldsGrpcStatus(head, buffer, scratch, scratchLength))
            {
                // gRPC's Trailers-Only form (grpc-status in the head, no message): it must reach the client as one
                // HEADERS with END_STREAM, and only the (empty) body tells where the response ends. Held until then,
                // or until data comes after all.
                HoldHead(stream, head, buffer, scratch, scratchLength);
            }
            else if (await SendHeadersAsync(stream, head, buffer, scratch, scratchLength, endOnHeaders) != Sent.Ok)
            {
                return;
            }
            reader.AdvanceTo(buffer.GetPosition(head.HeadLength));
            ReturnScratch(ref scratch, ref scratchLength);
            if (endOnHeaders)
            {
                ended = true;
                return;
            }

            // 2. The body.
            long remaining = kind == BodyKind.ContentLength ? head.ContentLength : long.MaxValue;
            if (kind == BodyKind.Chunked) stream.Chunks = new ChunkedDecoder(maxBody: 0, Http1Connection.ResponseLimits.MaxHeaderBytes, Http1Connection.ResponseLimits.MaxHeaders);
            while (true)
            {
                result = await reader.ReadAsync();
                buffer = result.Buffer;
                if (stream.Aborted || result.IsCanceled) return;
                if (kind == BodyKind.ContentLength)
                {
                    if (!buffer.IsEmpty)
                    {
                        var data = buffer.Slice(0, Math.Min(buffer.Length, remaining));
                        var (sent, taken) = await SendDataAsync(stream, data, endStream: data.Length == remaining);
                        if (sent != Sent.Ok) return;
                        remaining -= taken;
                        reader.AdvanceTo(buffer.GetPosition(taken));
                        if (remaining == 0)
                        {
                            ended = true;
                            return;
                        }
                        continue;
                    }
                }
                else if (kind == BodyKind.Chunked)
                {
                    // Data runs go out as DATA; framing (sizes, CRLFs, the last chunk) is consumed; trailer lines are kept.
                    var (sent, taken, done) = await SendChunkedAsync(stream, buffer);
                    if (sent != Sent.Ok) return;
                    reader.AdvanceTo(buffer.GetPosition(taken), buffer.End);
                    if (done)
                    {
                        if (await EndChunkedAsync(stream) != Sent.Ok) return;
                        ended = true;
                        return;
                    }
                    if (result.IsCompleted)
                    {
                        await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                        return;
                    }
                    continue;
                }
                else
                {
                    // Until the exchange closes.
                    if (!buffer.IsEmpty)
                    {
                        var (sent, taken) = await SendDataAsync(stream, buffer, endStream: false);
                        if (sent != Sent.Ok) return;
                        reader.AdvanceTo(buffer.GetPosition(taken));
                        continue;
                    }
                    if (result.IsCompleted)
                    {
                        if (await SendDataAsync(stream, ReadOnlySequence<byte>.Empty, endStream: true) is not (Sent.Ok, _)) return;
                        ended = true;
                        return;
                    }
                }
                if (result.IsCompleted)
                {
                    // Cut short (the upstream failed mid-body): the client must see an incomplete response, not a short one.
                    await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                    return;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            ReturnScratch(ref scratch, ref scratchLength);
            ReturnScratch(ref stream.HeldHeadBytes, ref stream.HeldHeadLength);
            // Only this pump used the head (a held one is the same object, sent from here): back to the pool.
            stream.HeldHead = null;
            s_responseHeads.Return(head);
            try { await reader.CompleteAsync(); } catch { /* completed */ }
            FinishStream(stream, ended);
        }
    }

    private static void ReturnScratch(ref byte[]? scratch, ref int length)
    {
        if (scratch is null) return;
        ArrayPool<byte>.Shared.Return(scratch);
        scratch = null;
        length = 0;
    }
}
