using System.Net.Security;
using System.Net.Sockets;
using FastProxy.Diagnostics;

namespace FastProxy.Tls;

/// <summary>The server side of a TLS handshake on an accepted socket, shared by http and tcp listeners.</summary>
internal static class TlsHandshake
{
    /// <summary>
    /// Authenticates as the server: certificate chosen by SNI, ALPN and client certificates as the listener's
    /// <paramref name="tls"/> says, the whole handshake bounded by its handshake timeout (header_timeout). Null when the
    /// handshake failed or stalled (garbage, a client that stops, a refused client certificate): the failure is logged
    /// and the socket closed, which ends this connection only. Runs once per connection.
    /// </summary>
    public static async Task<SslStream?> AcceptAsync(Socket socket, TlsServer tls, string listener)
    {
        SslStream? ssl = null;
        try
        {
            // Inside the try: a client that reset right after the accept makes even this throw.
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
            using var timeout = new CancellationTokenSource();
            if (tls.HandshakeTimeoutMs > 0) timeout.CancelAfter(TimeSpan.FromMilliseconds(tls.HandshakeTimeoutMs));
            // Cutting the socket ends the handshake whatever it waits on (a read, or our own write to a client that stopped reading).
            using var cut = timeout.Token.UnsafeRegister(static state => ((Socket)state!).Dispose(), socket);
            await ssl.AuthenticateAsServerAsync(TlsServer.SelectOptions, tls, timeout.Token).ConfigureAwait(false);
            if (!timeout.IsCancellationRequested) return ssl;
            Log.TlsHandshakeFailed(listener, "not complete within header_timeout");
        }
        catch (Exception ex)
        {
            Log.TlsHandshakeFailed(listener, ex is OperationCanceledException ? "not complete within header_timeout" : ex.Message);
        }
        ssl?.Dispose();
        socket.Dispose();
        return null;
    }
}
