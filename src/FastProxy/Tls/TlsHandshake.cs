using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using FastProxy.Diagnostics;
using FastProxy.Observability.Metrics;

namespace FastProxy.Tls;

/// <summary>The server side of a TLS handshake on an accepted socket, shared by http and tcp listeners.</summary>
internal static class TlsHandshake
{
    /// <summary>TLS record content type handshake (RFC 8446 §5.1): the first byte of every ClientHello.</summary>
    private const byte HandshakeRecord = 0x16;

    /// <summary>Enough of the first bytes to tell "OPTIONS " (the longest common method, and its space) from TLS.</summary>
    private const int SniffLength = 16;

    /// <summary>At most this much of a plain HTTP request is read (and dropped) after the 400, before the close.</summary>
    private const int MaxDrain = 64 * 1024;

    /// <summary>
    /// What nginx answers a plain HTTP request on an HTTPS port (its 497, sent as 400): the client learns its mistake
    /// instead of seeing a connection closed for no reason.
    /// </summary>
    private static readonly byte[] PlainHttpResponse =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 46\r\nConnection: close\r\n\r\nThe plain HTTP request was sent to HTTPS port\n"u8.ToArray();

    /// <summary>
    /// Authenticates as the server: certificate chosen by SNI, ALPN and client certificates as the listener's
    /// <paramref name="tls"/> says, the whole handshake bounded by its handshake timeout (header_timeout). Null when the
    /// handshake failed or stalled (garbage, a client that stops, a refused client certificate): the failure is logged
    /// and the socket closed, which ends this connection only. Runs once per connection.
    /// </summary>
    /// <param name="http">
    /// An http listener: a client that speaks plain HTTP to it is answered 400 in plain HTTP before the close. A tcp
    /// listener only closes (its clients need not speak HTTP at all).
    /// </param>
    /// <param name="metrics">The listener's metrics (null while metrics are off): the handshake, or why it failed, is counted there.</param>
    public static async Task<SslStream?> AcceptAsync(Socket socket, TlsServer tls, string listener, bool http, Observability.Metrics.ListenerSeries? metrics = null)
    {
        SslStream? ssl = null;
        using var timeout = new CancellationTokenSource();
        try
        {
            if (tls.HandshakeTimeoutMs > 0) timeout.CancelAfter(TimeSpan.FromMilliseconds(tls.HandshakeTimeoutMs));
            // Cutting the socket ends the handshake whatever it waits on (a read, or our own write to a client that stopped reading).
            using var cut = timeout.Token.UnsafeRegister(static state => ((Socket)state!).Dispose(), socket);
            if (await IsTlsAsync(socket, listener, http, metrics, timeout.Token).ConfigureAwait(false))
            {
                // Inside the try: a client that reset right after the accept makes even this throw.
                ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(TlsServer.SelectOptions, tls, timeout.Token).ConfigureAwait(false);
                if (!timeout.IsCancellationRequested)
                {
                    metrics?.TlsHandshakeSucceeded();
                    return ssl;
                }
                Log.TlsHandshakeFailed(listener, "not complete within header_timeout");
                metrics?.TlsHandshakeFailed(TlsFailureReason.Timeout);
            }
        }
        catch (Exception ex)
        {
            Log.TlsHandshakeFailed(listener, timeout.IsCancellationRequested ? "not complete within header_timeout" : TlsFailure.Describe(ex, "client"));
            metrics?.TlsHandshakeFailed(timeout.IsCancellationRequested ? TlsFailureReason.Timeout : TlsFailureReason.Classify(ex));
        }
        ssl?.Dispose();
        socket.Dispose();
        return null;
    }

    /// <summary>
    /// The connection's first bytes, looked at without taking them (MSG_PEEK; SslStream reads them next): a TLS
    /// record, or not. Not: logged, and for an http listener a plain HTTP request is answered 400, as nginx does. One
    /// receive more per connection, none per request.
    /// </summary>
    private static async ValueTask<bool> IsTlsAsync(Socket socket, string listener, bool http, Observability.Metrics.ListenerSeries? metrics, CancellationToken timeout)
    {
        var first = ArrayPool<byte>.Shared.Rent(SniffLength);
        try
        {
            int length = await socket.ReceiveAsync(first.AsMemory(0, SniffLength), SocketFlags.Peek, timeout).ConfigureAwait(false);
            if (length == 0)
            {
                Log.TlsHandshakeFailed(listener, "the client closed the connection before sending a ClientHello");
                metrics?.TlsHandshakeFailed(TlsFailureReason.Closed);
                return false;
            }
            if (first[0] == HandshakeRecord) return true;
            bool plainHttp = LooksLikeHttp(first.AsSpan(0, length));
            metrics?.TlsHandshakeFailed(plainHttp ? TlsFailureReason.PlainHttp : TlsFailureReason.NotTls);
            if (plainHttp && http)
            {
                Log.TlsPlainHttp(listener);
                await AnswerPlainHttpAsync(socket, first, timeout).ConfigureAwait(false);
                return false;
            }
            Log.TlsHandshakeFailed(listener, plainHttp
                ? "the client sent plain HTTP, not a TLS record: closed"
                : $"the client sent a non-TLS record (first bytes {Convert.ToHexString(first, 0, Math.Min(length, 8))}): closed");
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    /// <summary>
    /// The start of an HTTP/1.x request line (RFC 9112 §3): a method token of upper-case letters, then a space (or
    /// nothing yet). A TLS record starts with 0x16, an SSLv2-style hello with a byte of 0x80 or more: neither is a letter.
    /// </summary>
    internal static bool LooksLikeHttp(ReadOnlySpan<byte> first)
    {
        int i = 0;
        while (i < first.Length && first[i] is >= (byte)'A' and <= (byte)'Z') i++;
        return i > 0 && (i == first.Length || first[i] == (byte)' ');
    }

    /// <summary>
    /// The 400, then the send side shut (FIN after the response), then what the client sent is read and dropped until
    /// it closes (bounded in bytes, and in time by the handshake's timeout): closing with its request unread would
    /// send a reset, which can destroy the response before the client reads it.
    /// </summary>
    private static async ValueTask AnswerPlainHttpAsync(Socket socket, byte[] scratch, CancellationToken timeout)
    {
        try
        {
            await socket.SendAsync(PlainHttpResponse, SocketFlags.None, timeout).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            for (int drained = 0; drained < MaxDrain;)
            {
                int n = await socket.ReceiveAsync(scratch.AsMemory(), SocketFlags.None, timeout).ConfigureAwait(false);
                if (n == 0) return;
                drained += n;
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Gone, or still sending at the timeout: the close follows either way, and the 400 was logged.
        }
    }
}
