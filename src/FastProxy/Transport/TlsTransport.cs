using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;

namespace FastProxy.Transport;

/// <summary>
/// An authenticated <see cref="SslStream"/> seen as the same two pipes a plain <c>SocketConnection</c> offers, so the
/// HTTP and tcp connections above it do not know TLS is there. Two loops pump the pipes: one decrypts from the stream
/// into <see cref="Input"/>, one encrypts what is written to <see cref="Output"/>. The pipes take their blocks from the
/// same pinned pools and run their continuations inline, as the plain path does.
/// Semantics match SocketConnection where the layers above rely on them: the output pipe's reader is completed only
/// after every byte went to the socket and the send side was shut down (close_notify, then FIN), which is what the
/// lingering close waits for; <see cref="Dispose"/> cuts the socket and both loops end.
/// </summary>
internal sealed class TlsTransport : IDuplexPipe, IDisposable
{
    /// <summary>
    /// A TLS record carries at most 16 KiB of plaintext (RFC 8446 §5.1): a send gathers up to that much from the pipe
    /// into one record and one write, rather than one record per pipe segment.
    /// </summary>
    private const int MaxRecordPlaintext = 16 * 1024;

    private readonly Socket _socket;
    private readonly SslStream _ssl;
    private readonly Pipe _receive;
    private readonly Pipe _send;
    private int _loopsRunning = 2;
    /// <summary>The peer reset the connection (or it was cut): nothing more can be sent either.</summary>
    private volatile bool _receiveFailed;
    private int _disposed;

    public TlsTransport(Socket socket, SslStream ssl, PipeOptions sendOptions, PipeOptions receiveOptions)
    {
        _socket = socket;
        _ssl = ssl;
        _receive = new Pipe(receiveOptions);
        _send = new Pipe(sendOptions);
        _ = ReceiveLoopAsync();
        _ = SendLoopAsync();
    }

    public PipeReader Input => _receive.Reader;

    public PipeWriter Output => _send.Writer;

    public SslStream Stream => _ssl;

    private async Task ReceiveLoopAsync()
    {
        var writer = _receive.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                // A zero-byte read waits for data without holding a pipe block (SslStream passes it down to the socket
                // when nothing is decrypted yet), so an idle connection holds no receive buffer, as on the plain path.
                await _ssl.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                var memory = writer.GetMemory(1);
                int read = await _ssl.ReadAsync(memory).ConfigureAwait(false);
                if (read == 0) break;
                writer.Advance(read);
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled) break;
            }
        }
        catch (Exception ex)
        {
            // Reset, cut by Dispose, or a TLS alert: the reader sees an IOException (what the layers above expect of a
            // broken connection). A fresh one wrapping the original: the pipe rethrows it to the reader, and a
            // never-thrown exception carries no stack trace of its own along.
            error = new IOException(ex.Message, ex);
            _receiveFailed = true;
        }
        try { await writer.CompleteAsync(error).ConfigureAwait(false); } catch { /* reader already gone */ }
        LoopEnded();
    }

    private async Task SendLoopAsync()
    {
        var reader = _send.Reader;
        byte[]? gather = null;
        Exception? error = null;
        bool cut = false;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    while (!buffer.IsEmpty)
                    {
                        if (buffer.IsSingleSegment)
                        {
                            await _ssl.WriteAsync(buffer.First).ConfigureAwait(false);
                            buffer = buffer.Slice(buffer.End);
                        }
                        else
                        {
                            // Several small blocks: one record, one write. The scratch buffer lives only while sending.
                            gather ??= ArrayPool<byte>.Shared.Rent(MaxRecordPlaintext);
                            int length = (int)Math.Min(buffer.Length, MaxRecordPlaintext);
                            buffer.Slice(0, length).CopyTo(gather);
                            await _ssl.WriteAsync(gather.AsMemory(0, length)).ConfigureAwait(false);
                            buffer = buffer.Slice(length);
                        }
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start);
                    if (gather is not null)
                    {
                        ArrayPool<byte>.Shared.Return(gather);
                        gather = null;
                    }
                }
                if (result.IsCompleted || result.IsCanceled)
                {
                    // Cancelled: only Dispose does that, and the socket is gone.
                    cut = result.IsCanceled;
                    break;
                }
            }
            // The writer finished: a graceful end of this direction (close_notify, then FIN), as a half-close. Not on a
            // connection the peer has reset: the write would fail, and a failure deep in SslStream costs a stack trace
            // resolved into strings (measured: tens of KB per connection that clients such as wrk close with a reset).
            if (!_receiveFailed && !cut)
            {
                await _ssl.ShutdownAsync().ConfigureAwait(false);
                _socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (Exception ex)
        {
            // The writer completed with an error (an abort), or the peer is gone.
            error = ex;
        }
        // Completing the reader raises the writer's OnReaderCompleted: every byte has been handed to the socket.
        try { await reader.CompleteAsync(error).ConfigureAwait(false); } catch { /* already completed */ }
        LoopEnded();
    }

    /// <summary>The native TLS state is freed once neither loop can touch it any more.</summary>
    private void LoopEnded()
    {
        if (Interlocked.Decrement(ref _loopsRunning) != 0) return;
        _ssl.Dispose();
        _socket.Dispose();
    }

    /// <summary>Cuts the connection: whoever waits on either pipe is released by the loops' errors.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _socket.Dispose();
        // A loop waiting on its pipe (not on the socket) is woken too.
        try
        {
            _send.Reader.CancelPendingRead();
            _receive.Writer.CancelPendingFlush();
        }
        catch (InvalidOperationException)
        {
            // That side has finished already.
        }
    }
}
