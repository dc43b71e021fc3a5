using System.Buffers;
using System.IO.Pipelines;

namespace FastProxy.Forwarding;

/// <summary>
/// The response side of one HTTP/2 stream as its stream-mode <see cref="Http1Connection"/> sees it: a writer over the
/// stream's response pipe that starts the connection's pump (HTTP/1.1 bytes back to HEADERS and DATA frames) only
/// when the exchange first hands it something (a flush or the end). The usual small response, whose body came with
/// its head, never goes through the pipe: the exchange gives the parsed upstream head and body to
/// <see cref="TryAnswer"/>, which writes the frames itself, and no pump is started (no second head parse, no pipe
/// hop, no task). Only the exchange writes here, so the state needs no synchronisation.
/// </summary>
internal sealed class Http2ResponseWriter(Http2Connection connection, Http2Stream stream, PipeWriter inner) : PipeWriter
{
    private enum State : byte
    {
        /// <summary>Nothing handed over yet.</summary>
        Idle,
        /// <summary>The pump reads the pipe.</summary>
        Pumped,
        /// <summary>Answered with frames directly: the pipe stays unread.</summary>
        Answered,
    }

    private State _state;

    /// <summary>
    /// Sends a complete response (head and whole body, the body within the client's windows and one frame) as
    /// HEADERS and DATA at once. False: not possible now (the pump has started, the write lock is busy, the windows
    /// are short, the stream is gone): the caller writes HTTP/1.1 bytes as usual. When true, <paramref name="pending"/>
    /// ends when the frames have been handed on (it waits only when the connection's unsent output is large).
    /// </summary>
    public bool TryAnswer(Http1.ResponseHead head, ReadOnlySpan<byte> headBytes, in ReadOnlySequence<byte> body, out ValueTask pending)
    {
        pending = default;
        if (_state != State.Idle || inner.UnflushedBytes != 0) return false;
        if (!connection.TryAnswer(stream, head, headBytes, body, out pending)) return false;
        _state = State.Answered;
        return true;
    }

    private void HandOver()
    {
        if (_state != State.Idle) return;
        _state = State.Pumped;
        connection.StartPump(stream);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        HandOver();
        return inner.FlushAsync(cancellationToken);
    }

    public override void Complete(Exception? exception = null)
    {
        // An exchange that ends without a word still needs the pump: it resets the stream.
        HandOver();
        inner.Complete(exception);
    }

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;
}
