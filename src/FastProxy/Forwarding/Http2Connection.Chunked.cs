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
/// A pumped response's chunked body: data runs as DATA, trailer fields as a last HEADERS with END_STREAM (§8.1), and
/// gRPC's Trailers-Only head held until the body says whether anything follows it.
/// </summary>
internal sealed partial class Http2Connection
{
    private static bool HoldsGrpcStatus(ResponseHead head, in ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength)
    {
        ReadOnlySpan<byte> bytes = scratch is not null ? scratch.AsSpan(0, scratchLength) : buffer.FirstSpan;
        foreach (ref readonly var field in head.Fields)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(field.Name(bytes), "grpc-status"u8)) return true;
        }
        return false;
    }

    /// <summary>Keeps a copy of the head's bytes on the stream (the pipe moves on) to send later.</summary>
    private static void HoldHead(Http2Stream stream, ResponseHead head, in ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength)
    {
        var copy = ArrayPool<byte>.Shared.Rent(head.HeadLength);
        if (scratch is not null) scratch.AsSpan(0, head.HeadLength).CopyTo(copy);
        else buffer.Slice(0, head.HeadLength).CopyTo(copy);
        stream.HeldHead = head;
        stream.HeldHeadBytes = copy;
        stream.HeldHeadLength = head.HeadLength;
    }

    /// <summary>Sends a held head (see <see cref="HoldHead"/>) now: data follows it, or it ends the response.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> SendHeldHeadAsync(Http2Stream stream, bool endStream)
    {
        var head = stream.HeldHead!;
        stream.HeldHead = null;
        var sent = await SendHeadersAsync(stream, head, ReadOnlySequence<byte>.Empty, stream.HeldHeadBytes, stream.HeldHeadLength, endStream);
        ReturnScratch(ref stream.HeldHeadBytes, ref stream.HeldHeadLength);
        return sent;
    }

    /// <summary>
    /// The chunked body ended: the trailers as a last HEADERS with END_STREAM (§8.1: after all DATA), or an empty
    /// DATA with END_STREAM when there are none (or none that HTTP/2 may carry); a held head goes first, with
    /// END_STREAM itself when nothing follows it (gRPC's Trailers-Only).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> EndChunkedAsync(Http2Stream stream)
    {
        bool trailers = stream.ResponseTrailers is { WrittenCount: > 0 } lines && AnyForwardedTrailer(lines.WrittenSpan);
        if (stream.HeldHead is not null)
        {
            var sent = await SendHeldHeadAsync(stream, endStream: !trailers);
            if (sent != Sent.Ok || !trailers) return sent;
        }
        if (trailers) return await SendTrailersAsync(stream);
        var (done, _) = await SendDataAsync(stream, ReadOnlySequence<byte>.Empty, endStream: true);
        return done;
    }

    private static bool AnyForwardedTrailer(ReadOnlySpan<byte> lines)
    {
        Span<byte> name = stackalloc byte[TrailerRules.MaxNameLength];
        var fields = new TrailerFields(lines);
        while (fields.TryRead(out var raw, out _))
        {
            if (TrailerRules.TryLower(raw, name, out int n) && TrailerRules.Forwards(name[..n])) return true;
        }
        return false;
    }

    /// <summary>The trailers' HEADERS (+ CONTINUATION) with END_STREAM, under the write lock (HPACK order).</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> SendTrailersAsync(Http2Stream stream)
    {
        await _writeLock.EnterAsync();
        try
        {
            if (_closing || stream.Aborted) return Sent.Stopped;
            if (!WriteTrailers(stream, stream.ResponseTrailers!.WrittenSpan))
            {
                // As in SendHeadersAsync: the block is sized so this cannot happen; HPACK state would be lost.
                _closing = true;
                return Sent.Stopped;
            }
            lock (_sync) stream.State.OnSend(Http2FrameType.Headers, endStream: true);
            FinishStream(stream, ended: true);
            return await AfterWrite();
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>
    /// Encodes the trailer fields HTTP/2 may carry (<see cref="TrailerRules"/>; names lowercased, §8.2.1) as a
    /// HEADERS block with END_STREAM (caller holds the write lock).
    /// </summary>
    private bool WriteTrailers(Http2Stream stream, ReadOnlySpan<byte> lines)
    {
        ApplyPendingTableSize();
        var block = ArrayPool<byte>.Shared.Rent(TrailerRules.BlockLength(lines));
        try
        {
            int written = 0;
            if (!_encoder.BeginBlock(block, ref written)) return false;
            if (!TrailerRules.TryEncode(_encoder, lines, block, ref written, out _)) return false;
            Http2FrameWriter.WriteFieldBlock(_output, stream.Id, block.AsSpan(0, written), endStream: true, _peerMaxFrameSize);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    private static ChunkedStep NextChunkStep(Http2Stream stream, in ReadOnlySequence<byte> rest, out int consumed)
        => stream.Chunks.Next(rest.FirstSpan, out consumed);

    /// <summary>
    /// Runs the chunked decoder over <paramref name="buffer"/>, sending data runs as DATA within the windows.
    /// Returns what was consumed and whether the last chunk (and trailers) ended the body.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(Sent, long, bool)> SendChunkedAsync(Http2Stream stream, ReadOnlySequence<byte> buffer)
    {
        long consumedTotal = 0;
        while (consumedTotal < buffer.Length)
        {
            var rest = buffer.Slice(consumedTotal);
            var step = NextChunkStep(stream, rest, out int consumed);
            if (step == ChunkedStep.Error)
            {
                await ResetFromPumpAsync(stream, Http2ErrorCode.InternalError);
                return (Sent.Stopped, consumedTotal, false);
            }
            if (step == ChunkedStep.Data && consumed > 0)
            {
                if (stream.HeldHead is not null && await SendHeldHeadAsync(stream, endStream: false) != Sent.Ok) return (Sent.Stopped, consumedTotal, false);
                var (sent, taken) = await SendDataAsync(stream, rest.Slice(0, consumed), endStream: false);
                if (sent != Sent.Ok) return (Sent.Stopped, consumedTotal, false);
            }
            else if (step == ChunkedStep.Trailer)
            {
                // Bounded by the decoder's trailer limits (ResponseLimits: 64 KiB, 256 fields).
                stream.ResponseTrailers ??= new ArrayBufferWriter<byte>(256);
                stream.ResponseTrailers.Write(rest.FirstSpan[..consumed]);
            }
            consumedTotal += consumed;
            if (step == ChunkedStep.Done) return (Sent.Ok, consumedTotal, true);
            if (consumed == 0) break;
        }
        return (Sent.Ok, consumedTotal, false);
    }
}
