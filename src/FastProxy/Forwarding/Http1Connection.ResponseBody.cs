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
/// Response bodies a policy rewrites (IResponseBodyPolicy: json_body). Only when the route's chain has such a policy
/// and it wants this response: the body is read whole (Content-Length or chunked, within the size the policy named),
/// handed over, and what the policy wrote goes to the client with a Content-Length (the upstream's Transfer-Encoding
/// and Content-Length dropped). A chunked body that grows past the size is sent on as it came: the head, what was
/// read (kept as received), and the rest streamed as usual. Nothing reaches the client before that decision, so a
/// failure while reading is answered (502, 504) instead of cutting a response short.
/// </summary>
internal sealed partial class Http1Connection
{
    private static readonly byte[] s_contentLength = "content-length"u8.ToArray();

    // Made the first time this pooled connection rewrites a body; empty (memory returned) between uses.
    private PooledBufferWriter? _bodyRaw;
    private PooledBufferWriter? _bodyData;
    private PooledBufferWriter? _bodyOut;

    /// <summary>Set by <see cref="TransformResponseAsync"/> when the client is to get an answer of the proxy's instead (502, 504).</summary>
    private int _bodyFailStatus;

    /// <summary>The most body octets the chain's body policies want read for this response; 0: none wants it (-1: refused).</summary>
    private long ResponseBodyWanted(BodyKind kind)
    {
        if (_chain is not { HasResponseBodyPolicies: true } chain || kind is not (BodyKind.ContentLength or BodyKind.Chunked)) return 0;
        return chain.WantsResponseBody(_policyContext!, new ResponseView(_response, ResponseHeadBytes), kind == BodyKind.ContentLength ? _response.ContentLength : -1);
    }

    /// <summary>
    /// Reads the body whole, lets the policy rewrite it, and writes the head and body to the client (not flushed).
    /// Complete: done, the upstream connection is at the end of the response. Otherwise <see cref="_bodyFailStatus"/>
    /// says what the client gets (0: the response had started, nothing can be said).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyCopy> TransformResponseAsync(UpstreamConnection connection, Upstream upstream, BodyKind kind, long max, bool dechunk,
        bool dropTransferEncoding, bool clientKeepAlive)
    {
        _bodyFailStatus = 0;
        if (max < 0)
        {
            // Refused at the head (a Content-Length over the policy's size): nothing is read.
            ReleaseResponseScratch();
            _bodyFailStatus = 502;
            return BodyCopy.Invalid;
        }
        // The head must outlive the receive buffer: the body is consumed as it is read.
        KeepResponseHead();
        var input = connection.Input;
        input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
        _responseBuffer = default;
        var raw = _bodyRaw ??= new PooledBufferWriter();
        var data = _bodyData ??= new PooledBufferWriter();
        var output = _bodyOut ??= new PooledBufferWriter();
        try
        {
            BodyCopy read;
            try
            {
                read = await CopyResponseBodyAsync(connection, upstream, kind, new WholeBody(raw, data, max));
            }
            catch (Exception ex) when (IsConnectionError(ex))
            {
                read = BodyCopy.Truncated;
            }
            bool complete = read == BodyCopy.Complete;
            // A chunked body may arrive whole in one read and still be over the size.
            bool tooLarge = read == BodyCopy.Aborted || (complete && data.WrittenCount > max);
            if (!complete && !tooLarge)
            {
                if (!_aborted) upstream.Outliers.Failed(connection.Server, Transport.Heartbeat.NowMs);
                _bodyFailStatus = read == BodyCopy.TimedOut ? 504 : 502;
                ReleaseResponseScratch();
                return read;
            }

            var body = kind == BodyKind.Chunked ? data.WrittenMemory : raw.WrittenMemory;
            var outcome = _chain!.OnResponseBody(_policyContext!, new ResponseView(_response, ResponseHeadBytes), tooLarge ? default : body, tooLarge, output);
            if (outcome == ResponseBodyOutcome.Refused)
            {
                ReleaseResponseScratch();
                _bodyFailStatus = 502;
                return BodyCopy.Invalid;
            }
            if (outcome == ResponseBodyOutcome.Replaced)
            {
                Span<byte> digits = stackalloc byte[20];
                Utf8Formatter.TryFormat(output.WrittenCount, digits, out int length);
                _policyContext!.RemoveResponseHeader(s_contentLength);
                _policyContext.AddResponseHeader(s_contentLength, digits[..length]);
                ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ClientConnectionHeader(clientKeepAlive), dropTransferEncoding: true, false,
                    _policyContext, _trace, listenerLines: ListenerLines);
                ReleaseResponseScratch();
                _output.Write(output.WrittenSpan);
                if (_recording) _record!.BytesOut += output.WrittenCount;
                return BodyCopy.Complete;
            }

            // As it came: the head, then the body as received (de-chunked for an HTTP/1.0 client).
            ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ClientConnectionHeader(clientKeepAlive), dropTransferEncoding, false,
                _policyContext, _trace, listenerLines: ListenerLines);
            ReleaseResponseScratch();
            var sent = dechunk ? data.WrittenSpan : raw.WrittenSpan;
            _output.Write(sent);
            if (_recording) _record!.BytesOut += sent.Length;
            if (complete) return BodyCopy.Complete;
            raw.Release();
            data.Release();
            try
            {
                // The decoder goes on from where the reading stopped.
                return await CopyResponseBodyAsync(connection, upstream, kind, new PlainBody(this, dechunk), resume: true);
            }
            catch (Exception ex) when (IsConnectionError(ex))
            {
                return BodyCopy.Truncated;
            }
        }
        finally
        {
            raw.Release();
            data.Release();
            output.Release();
        }
    }

    /// <summary>
    /// The response body read whole before anything goes to the client: into <c>raw</c> as received and, when chunked,
    /// its data into <c>data</c>. Full (<see cref="BodyCopy.Aborted"/>) past <c>max</c> octets of data (what was read is
    /// kept, the rest is still to come); chunk framing around tiny chunks can outweigh the data, so what is kept as
    /// received is bounded too.
    /// </summary>
    private readonly struct WholeBody(PooledBufferWriter raw, PooledBufferWriter data, long max) : IResponseBodySink
    {
        public bool Streams => false;
        public bool CountsTaken => false;
        public bool Full => data.WrittenCount > max || raw.WrittenCount > 2 * max + 64 * 1024;

        public void OnChunk(ChunkedStep step, ReadOnlySpan<byte> bytes)
        {
            raw.Write(bytes);
            if (step == ChunkedStep.Data) data.Write(bytes);
        }

        public void OnContent(in ReadOnlySequence<byte> bytes)
        {
            foreach (var segment in bytes) raw.Write(segment.Span);
        }

        public void OnIdle() { }
        public void OnEnd() { }
        public void OnExit(bool completed) { }
    }

    /// <summary>Copies the response head out of the receive buffer, so the body can be consumed while the head is still to be written.</summary>
    private void KeepResponseHead()
    {
        if (_responseScratch is not null) return;
        int length = _response.HeadLength;
        _responseScratch = ArrayPool<byte>.Shared.Rent(Math.Max(length, 4096));
        _responseBuffer.Slice(0, length).CopyTo(_responseScratch);
        _responseScratchLength = length;
    }
}
