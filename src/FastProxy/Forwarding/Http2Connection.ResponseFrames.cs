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
/// A response's frames as the pump and the direct answer write them: HEADERS from a parsed head (HPACK, under the
/// write lock), DATA within the send windows, RST_STREAM, and the stream's end.
/// </summary>
internal sealed partial class Http2Connection
{
    /// <summary>The response is over (or failed): the stream leaves the table; a request still arriving is stopped (§8.1).</summary>
    private void FinishStream(Http2Stream stream, bool ended)
    {
        bool reset = false;
        lock (_sync)
        {
            if (stream.Aborted) return;
            stream.Aborted = true;
            // §8.1: a response complete before its request may be followed by RST_STREAM NO_ERROR. The state says
            // whether the client's END_STREAM has come (the read loop marks the request ended only after that).
            reset = ended && stream.State.CanReceiveData;
            if (reset) stream.State.OnSend(Http2FrameType.RstStream, endStream: false);
            RemoveLocked(stream);
            lock (stream.Gate)
            {
                if (!stream.WriterCompleted)
                {
                    stream.WriterCompleted = true;
                    stream.Request?.Writer.Complete();
                }
            }
        }
        if (reset) _ = SendRstAsync(stream.Id, Http2ErrorCode.NoError);
    }

    private async Task ResetFromPumpAsync(Http2Stream stream, Http2ErrorCode code)
    {
        lock (_sync)
        {
            if (stream.Aborted) return;
            stream.Aborted = true;
            stream.State.OnSend(Http2FrameType.RstStream, endStream: false);
            RemoveLocked(stream);
        }
        stream.CancelExchange();
        await SendRstAsync(stream.Id, code);
    }

    private async Task SendRstAsync(int id, Http2ErrorCode code)
    {
        await _writeLock.EnterAsync();
        try
        {
            if (_closing) return;
            Http2FrameWriter.WriteRstStream(_output, id, code);
            await _output.FlushAsync();
        }
        catch (Exception ex) when (IsConnectionError(ex))
        {
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>HEADERS (+ CONTINUATION) for the response head: :status and the fields, under the write lock (HPACK order).</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Sent> SendHeadersAsync(Http2Stream stream, ResponseHead head, ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength,
        bool endStream)
    {
        await _writeLock.EnterAsync();
        try
        {
            if (_closing || stream.Aborted) return Sent.Stopped;
            if (!WriteHeaders(stream, head, buffer, scratch, scratchLength, endStream))
            {
                // Cannot happen with the block sized as it is; if it did, HPACK state moved on: the connection is lost.
                _closing = true;
                return Sent.Stopped;
            }
            lock (_sync) stream.State.OnSend(Http2FrameType.Headers, endStream);
            if (endStream) FinishStream(stream, ended: true);
            return await AfterWrite();
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>Encodes and writes the response head's HEADERS frames (caller holds the write lock).</summary>
    private bool WriteHeaders(Http2Stream stream, ResponseHead head, in ReadOnlySequence<byte> buffer, byte[]? scratch, int scratchLength, bool endStream)
        => WriteHeaders(stream, head, scratch is not null ? scratch.AsSpan(0, scratchLength) : buffer.FirstSpan, endStream);

    /// <summary>
    /// The same, from the head's contiguous bytes. <paramref name="policies"/> (the direct answer only; the pump's
    /// HTTP/1.1 bytes have the edits in them already): the gateway's response edits, fields dropped and lines added;
    /// <paramref name="hsts"/> likewise: the listener's Strict-Transport-Security line, replacing the server's.
    /// </summary>
    private bool WriteHeaders(Http2Stream stream, ResponseHead head, ReadOnlySpan<byte> bytes, bool endStream, PolicyContext? policies = null,
        RequestTrace? trace = null, byte[]? hsts = null)
    {
        ApplyPendingTableSize();

        var lines = policies is null ? default : policies.ResponseLines;
        bool removals = policies is { HasResponseRemovals: true };
        // A literal costs at most a few octets more than the field's own bytes (Huffman is used only when shorter). A
        // policy line of L >= 5 bytes ("a: \r\n") becomes a literal of at most L + 3 (one type octet and two length
        // prefixes of up to 3 octets each, less its ": " and CRLF): 2L covers it.
        var block = ArrayPool<byte>.Shared.Rent(head.HeadLength + 64 + 16 * head.FieldCount + DateHeader.LineLength + 2 * lines.Length
            + (trace is null ? 0 : RequestTrace.MaxRequestIdLineLength + 8) + (hsts is null ? 0 : 2 * hsts.Length));
        try
        {
            Span<byte> name = stackalloc byte[256];
            int written = 0;
            if (!_encoder.BeginBlock(block, ref written)) return false;
            Span<byte> status = stackalloc byte[3];
            int code = head.StatusCode;
            status[0] = (byte)('0' + code / 100);
            status[1] = (byte)('0' + code / 10 % 10);
            status[2] = (byte)('0' + code % 10);
            if (!_encoder.TryEncode(":status"u8, status, HPackIndexing.Incremental, block, ref written)) return false;
            bool dated = false, identified = false;
            foreach (ref readonly var field in head.Fields)
            {
                // §8.2.2: connection-specific fields do not exist in HTTP/2.
                if (field.HopByHop || field.Known is KnownHeader.Connection or KnownHeader.KeepAlive or KnownHeader.TransferEncoding
                    or KnownHeader.Upgrade or KnownHeader.Proxy or KnownHeader.TE) continue;
                var raw = field.Name(bytes);
                if (removals && policies!.IsResponseHeaderRemoved(raw)) continue;
                if (hsts is not null && HstsField.Is(raw)) continue;
                dated |= field.Known == KnownHeader.Date;
                identified |= field.Known == KnownHeader.RequestId;
                // HTTP/2 field names are lowercase (§8.2.1). A name over 256 octets is not worth a buffer: dropped.
                if (raw.Length > name.Length || System.Text.Ascii.ToLower(raw, name, out int n) != OperationStatus.Done) continue;
                // Values that change with every response or every second (lengths, dates, request ids) would only churn the
                // client's table.
                var indexing = field.Known is KnownHeader.ContentLength or KnownHeader.Date or KnownHeader.RequestId or KnownHeader.TraceParent
                    ? HPackIndexing.Without : HPackIndexing.Incremental;
                if (!_encoder.TryEncode(name[..n], field.Value(bytes), indexing, block, ref written)) return false;
            }
            // A server's response without Date gets the proxy's (RFC 9110 §6.6.1), as over HTTP/1.1 (ResponseHeadWriter;
            // the proxy's own answers have theirs already). Not indexed, like a server's Date above (and as nginx does).
            if (!dated && code >= 200 && !_encoder.TryEncode("date"u8, DateHeader.Value, HPackIndexing.Without, block, ref written)) return false;
            // [listeners.hsts]: the same on every response, so indexed (one octet after the first).
            if (hsts is not null && !_encoder.TryEncode("strict-transport-security"u8, HstsField.Value(hsts), HPackIndexing.Incremental, block, ref written)) return false;
            // The request's id, as over HTTP/1.1 (ResponseHeadWriter); never indexed: it changes with every response.
            if (trace is not null && !identified)
            {
                Span<byte> id = stackalloc byte[RequestIds.MaxLength];
                if (!_encoder.TryEncode("x-request-id"u8, id[..trace.WriteRequestId(id)], HPackIndexing.Without, block, ref written)) return false;
            }
            // The lines gateway policies add, after the server's own as over HTTP/1.1: "name: value\r\n" each, as
            // PolicyContext records them (checked there: a token-like name, a value without CR, LF or NUL).
            while (!lines.IsEmpty)
            {
                int end = lines.IndexOf("\r\n"u8);
                var line = lines[..end];
                lines = lines[(end + 2)..];
                int colon = line.IndexOf((byte)':');
                var raw = line[..colon];
                if (raw.Length > name.Length || System.Text.Ascii.ToLower(raw, name, out int n) != OperationStatus.Done) continue;
                if (!_encoder.TryEncode(name[..n], line[(colon + 1)..].TrimStart((byte)' '), HPackIndexing.Incremental, block, ref written)) return false;
            }
            Http2FrameWriter.WriteFieldBlock(_output, stream.Id, block.AsSpan(0, written), endStream, _peerMaxFrameSize);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(block);
        }
    }

    /// <summary>
    /// Sends up to all of <paramref name="data"/> as DATA frames, each as large as the client's windows and frame
    /// size allow, waiting for WINDOW_UPDATE when they are shut. Returns how much went out (all of it unless stopped).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(Sent, long)> SendDataAsync(Http2Stream stream, ReadOnlySequence<byte> data, bool endStream)
    {
        long sent = 0;
        do
        {
            long left = data.Length - sent;
            int granted = 0;
            if (left > 0)
            {
                granted = await ReserveAsync(stream, (int)Math.Min(left, _peerMaxFrameSize));
                if (granted == 0) return (Sent.Stopped, sent);
            }
            bool last = endStream && sent + granted == data.Length;
            await _writeLock.EnterAsync();
            try
            {
                if (_closing || stream.Aborted) return (Sent.Stopped, sent);
                Http2FrameWriter.WriteData(_output, stream.Id, data.Slice(sent, granted), last);
                lock (_sync) stream.State.OnSend(Http2FrameType.Data, last);
                // The stream stops counting against MAX_CONCURRENT_STREAMS before the client can see it end.
                if (last) FinishStream(stream, ended: true);
                if (await AfterWrite() != Sent.Ok) return (Sent.Stopped, sent);
            }
            finally
            {
                _writeLock.Exit();
            }
            sent += granted;
        }
        while (sent < data.Length);
        return (Sent.Ok, sent);
    }

    /// <summary>Takes up to <paramref name="wanted"/> octets of both send windows; 0 when the stream stopped or the client let them stay shut too long.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReserveAsync(Http2Stream stream, int wanted)
    {
        while (true)
        {
            lock (_sync)
            {
                if (stream.Aborted || _closing) return 0;
                long available = Math.Min(stream.SendWindow.Available, _windows.Send.Available);
                if (available > 0)
                {
                    int granted = stream.SendWindow.Take((int)Math.Min(available, wanted));
                    _windows.Send.Take(granted);
                    return granted;
                }
                // Made under the lock, the first time this stream waits (most never do): WakeLocked sees the same one.
                stream.WindowSignal ??= new SemaphoreSlim(0);
                stream.WaitingForWindow = true;
            }
            // A client that never opens its window again does not hold the stream (and its upstream connection) forever.
            long timeoutMs = Runtime.IdleTimeoutMs;
            if (!await stream.WindowSignal!.WaitAsync(timeoutMs > 0 ? TimeSpan.FromMilliseconds(timeoutMs) : Timeout.InfiniteTimeSpan))
            {
                await ResetFromPumpAsync(stream, Http2ErrorCode.FlowControlError);
                return 0;
            }
        }
    }

    private void ApplyPendingTableSize()
    {
        long pendingTable = Interlocked.Exchange(ref _pendingPeerTableSize, -1);
        if (pendingTable >= 0) _encoder.SetPeerMaxTableSize((uint)pendingTable);
    }
}
