using System.Buffers;
using System.IO.Pipelines;
using FastProxy.Http1;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

/// <summary>The upstream's response head: its limits, where it is kept while it is needed, and one read's worth of parsing.</summary>
internal sealed partial class Http1Connection
{
    /// <summary>Upstream response heads may be larger than client request heads (cookies, CSP); nginx's default buffer is 4–8 KiB.</summary>
    internal static readonly HeadLimits ResponseLimits = new(MaxStartLine: 8 * 1024, MaxHeaderBytes: 64 * 1024, MaxHeaders: 256);
    internal const int MaxResponseHeadBytes = 8 * 1024 + 64 * 1024 + 64;

    private enum ResponseIntake : byte
    {
        Complete = 0,
        /// <summary>More of the head is needed: read again.</summary>
        Pending,
        TimedOut,
        /// <summary>The server closed without sending a byte: on a reused connection, the keep-alive race.</summary>
        ClosedEmpty,
        Malformed,
        /// <summary>The request body failed on the client's side (see <see cref="_pumpFailure"/>): there is nothing to wait for.</summary>
        RequestFailed,
    }

    private ReadOnlySequence<byte> _responseBuffer;
    private byte[]? _responseScratch;
    private int _responseScratchLength;
    private ChunkedDecoder _responseDecoder;

    private ReadOnlyMemory<byte> ResponseHeadMemory => _responseScratch is not null
        ? _responseScratch.AsMemory(0, _responseScratchLength)
        : _responseBuffer.First;

    private ReadOnlySpan<byte> ResponseHeadBytes => _responseScratch is not null
        ? _responseScratch.AsSpan(0, _responseScratchLength)
        : _responseBuffer.FirstSpan;

    /// <summary>
    /// One read's worth of response head: parses what the upstream has sent so far, without consuming it.
    /// <see cref="ResponseIntake.Pending"/>: read again (the buffer was examined).
    /// </summary>
    private ResponseIntake OnResponseHeadData(in ReadResult result, PipeReader input, Upstream upstream)
    {
        var buffer = result.Buffer;
        _responseBuffer = buffer;
        if (result.IsCanceled && _upstreamDeadline.TimedOut)
        {
            // response_timeout runs from the last request byte sent: a server still receiving the body
            // (a slow upload streamed by the pump) is not late.
            if (RequestTimedOut) return ResponseIntake.TimedOut;
            long quiet = Transport.Heartbeat.NowMs - Volatile.Read(ref _requestProgressMs);
            if (quiet >= upstream.ResponseTimeoutMs) return ResponseIntake.TimedOut;
            _upstreamDeadline.Arm(input, Budget(upstream.ResponseTimeoutMs - quiet));
        }
        if (!buffer.IsEmpty)
        {
            var status = ResponseParser.Parse(GetContiguous(buffer, ref _responseScratch, ref _responseScratchLength, MaxResponseHeadBytes),
                _response, ResponseLimits);
            if (status == ParseStatus.Complete) return ResponseIntake.Complete;
            if (status == ParseStatus.Error) return ResponseIntake.Malformed;
        }
        if (result.IsCompleted)
        {
            return buffer.IsEmpty ? ResponseIntake.ClosedEmpty : ResponseIntake.Malformed;
        }
        if (result.IsCanceled && _pumpFailure != BodyCopy.Complete) return ResponseIntake.RequestFailed;
        input.AdvanceTo(buffer.Start, buffer.End);
        return ResponseIntake.Pending;
    }
}
