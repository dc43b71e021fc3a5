using System.Runtime.CompilerServices;
using FastProxy.Transport;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>Longest wait for the client to take the last bytes of the final response (a slow reader, not a dead one).</summary>
    private const long LingerSendMs = 10_000;

    /// <summary>Then, how long the client may stay silent before the close: whatever it still sends meanwhile is dropped.</summary>
    private const long LingerQuietMs = 250;

    /// <summary>Bound on that draining, for a client that keeps sending (an upload the proxy has already answered).</summary>
    private const long LingerDrainMs = 2_000;

    /// <summary>Set (from the socket's send loop) once every byte written to the client has gone to the socket.</summary>
    private volatile bool _sendDrained;

    /// <summary>Set when the connection became a tunnel: it closes as the tunnel ends, without lingering.</summary>
    private bool _tunnelled;

    /// <summary>
    /// Closes our side gracefully after the last response (nginx's lingering close). Two things can lose that response
    /// if the socket is simply closed: bytes still in the output pipe, not yet taken by the send loop, are dropped; and
    /// closing with unread input (the rest of an upload we answered early, a pipelined request) makes the kernel send
    /// a reset, which can destroy the response before the client reads it. So: finish the output (the send loop
    /// sends what is left, then a FIN), and read and drop the client's bytes until it closes or goes quiet.
    /// </summary>
    [AsyncMethodBuilder(typeof(FastProxy.Async.PooledValueTaskMethodBuilder))]
    private async ValueTask LingerAsync()
    {
        // An HTTP/2 stream has no socket of its own: the HTTP/2 connection closes the client's.
        if (_streamMode) return;
        _sendDrained = false;
        if (_transport is LeanSocket)
        {
            // No send loop: completing the output sends what is left, then the FIN; every byte is in the socket then.
            await _output.CompleteAsync();
            _sendDrained = true;
        }
        else
        {
            await CompleteOutputWhenSentAsync();
        }

        long sendDue = Heartbeat.NowMs + LingerSendMs;
        long drainDue = long.MaxValue;
        _clientDeadline.Arm(_input, LingerSendMs);
        try
        {
            while (true)
            {
                if (_sendDrained && drainDue == long.MaxValue)
                {
                    drainDue = Heartbeat.NowMs + LingerDrainMs;
                    _clientDeadline.Arm(_input, LingerQuietMs);
                }
                var result = await _input.ReadAsync();
                _input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    // The client has closed its side: nothing can come to reset us; only our last bytes may be left.
                    while (!_sendDrained && Heartbeat.NowMs < sendDue) await Task.Delay(10);
                    return;
                }
                if (result.IsCanceled)
                {
                    // Timed out (quiet long enough, or the client would not read), else woken by OnSendDrained.
                    if (_clientDeadline.TimedOut) return;
                    continue;
                }
                if (drainDue != long.MaxValue)
                {
                    if (Heartbeat.NowMs >= drainDue) return;
                    _clientDeadline.Arm(_input, LingerQuietMs);
                }
            }
        }
        finally
        {
            _clientDeadline.Disarm();
        }
    }

    /// <summary>SocketConnection and TlsTransport: their send loop completes the pipe's reader once everything went to the socket.</summary>
    private ValueTask CompleteOutputWhenSentAsync()
    {
        // The send loop completes the pipe's reader once it has handed everything to the socket. OnReaderCompleted is
        // deprecated for PipeWriter in general, but Pipe (which the socket connection wraps) still raises it, and it
        // is the only signal that the last bytes have left user space.
        // The callback names the transport: it may come late, when this (pooled) object already serves another client.
#pragma warning disable CS0618
        _output.OnReaderCompleted(static (_, state) =>
        {
            var (connection, transport) = ((Http1Connection, IDisposable))state!;
            connection.OnSendDrained(transport);
        }, (this, _transport!));
#pragma warning restore CS0618
        return _output.CompleteAsync();
    }

    private void OnSendDrained(IDisposable transport)
    {
        if (!ReferenceEquals(transport, _transport)) return;
        _sendDrained = true;
        _input?.CancelPendingRead();
    }
}
