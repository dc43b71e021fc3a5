using System.Buffers;
using System.IO.Pipelines;

namespace FastProxy.Forwarding;

/// <summary>
/// The response side of one HTTP/2 stream as its stream-mode <see cref="Http1Connection"/> sees it: a writer over the
/// stream's response pipe that starts the connection's pump (HTTP/1.1 bytes back to HEADERS and DATA frames) only
/// when the exchange first hands it something (a flush or the end). The usual small response, whose body came with
/// its head, never goes through the pipe: the exchange gives the parsed upstream head and body to
/// <see cref="AnswerAsync"/>, which writes the frames itself: no pipe is made and no pump started (no second head
/// parse, no hop to the thread pool, no task). Only the exchange writes here, so the state needs no synchronisation.
/// </summary>
internal sealed class Http2ResponseWriter : PipeWriter
{
    private Http2Connection _connection = null!;
    private Http2Stream _stream = null!;

    /// <summary>The response pipe's writer, made on first use: a response answered directly never has one.</summary>
    private PipeWriter? _inner;

    private PipeWriter Inner => _inner ??= _stream.OpenResponse().Writer;

    /// <summary>
    /// Serves one stream's response. An instance belongs to a pooled <see cref="Http1Connection"/> and is reused for
    /// each stream it serves (<see cref="Http1Connection.StreamResponse"/>); nothing else keeps a reference to it.
    /// </summary>
    public Http2ResponseWriter Start(Http2Connection connection, Http2Stream stream)
    {
        _connection = connection;
        _stream = stream;
        _inner = null;
        _state = State.Idle;
        return this;
    }

    /// <summary>The stream is over: drop what it referenced, so a pooled exchange keeps no connection alive.</summary>
    public void Clear()
    {
        _connection = null!;
        _stream = null!;
        _inner = null;
    }

    private enum State : byte
    {
        /// <summary>Nothing handed over yet.</summary>
        Idle,
        /// <summary>The pump reads the pipe.</summary>
        Pumped,
        /// <summary>Answered with frames directly: there is no pipe.</summary>
        Answered,
    }

    private State _state;

    /// <summary>
    /// Nothing has been handed over yet: the response can still go as frames directly (<see cref="AnswerAsync"/>).
    /// </summary>
    public bool CanAnswer => _state == State.Idle && (_inner is null || _inner.UnflushedBytes == 0);

    /// <summary>
    /// Sends a complete response (head and whole body, the body within the client's windows and one frame) as
    /// HEADERS and DATA. False: not possible (the windows are short, the stream is gone): the caller writes HTTP/1.1
    /// bytes as usual, for the pump. Only when <see cref="CanAnswer"/>. <paramref name="policies"/>: the gateway's
    /// edits to the response (fields dropped, lines added), as ResponseHeadWriter applies them over HTTP/1.1;
    /// <paramref name="hsts"/>: the listener's Strict-Transport-Security line ([listeners.hsts]), or null.
    /// </summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public async ValueTask<bool> AnswerAsync(Http1.ResponseHead head, ReadOnlyMemory<byte> headBytes, ReadOnlySequence<byte> body,
        Policies.Pipeline.PolicyContext? policies = null, Observability.Tracing.RequestTrace? trace = null, byte[]? hsts = null)
    {
        var answering = _connection.AnswerAsync(_stream, head, headBytes, body, policies, trace, hsts);
        bool answered = answering.IsCompletedSuccessfully ? answering.Result : await answering;
        if (answered) _state = State.Answered;
        return answered;
    }

    private void HandOver()
    {
        if (_state != State.Idle) return;
        _state = State.Pumped;
        _ = Inner; // the pump reads the pipe
        _connection.StartPump(_stream);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        // Answered directly: nothing is left to flush, and no pipe is made for nothing.
        if (_state == State.Answered && _inner is null) return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
        HandOver();
        return Inner.FlushAsync(cancellationToken);
    }

    public override void Complete(Exception? exception = null)
    {
        if (_state == State.Answered && _inner is null) return;
        // An exchange that ends without a word still needs the pump: it resets the stream.
        HandOver();
        Inner.Complete(exception);
    }

    public override void Advance(int bytes) => Inner.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => Inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => Inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => _inner?.CancelPendingFlush();

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _inner?.UnflushedBytes ?? 0;
}
