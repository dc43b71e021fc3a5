using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Net.Sockets;
using FastProxy.Tls;
using FastProxy.Transport;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Upstreams;

/// <summary>One connection to an upstream server, reused across requests while both sides keep it alive.</summary>
internal sealed class UpstreamConnection : IDisposable
{
    /// <summary>A SocketConnection, or a <see cref="TlsTransport"/> for servers spoken to over TLS: the same two pipes.</summary>
    private readonly IDuplexPipe _transport;
    private bool _disposed;

    internal UpstreamConnection(UpstreamServer server, IDuplexPipe transport)
    {
        Server = server;
        _transport = transport;
        Input = transport.Input;
        Output = transport.Output;
    }

    public UpstreamServer Server { get; }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>
    /// An HTTP/2 stream that has sent the whole request (END_STREAM): its request pipe's reader completes then, so a
    /// flush still waiting on it (a body over the pipe's 64 KiB threshold, written at once) ends "completed" without
    /// anything having failed. Always false for an HTTP/1.1 connection.
    /// </summary>
    public bool RequestDelivered => _transport is Http2UpstreamStream stream && Volatile.Read(ref stream.LocalEnded);

    /// <summary>Requests completed on this connection: 0 means fresh, so a failure on it is not a stale-pool race.</summary>
    public int Requests { get; set; }

    /// <summary>When it went back to the pool (for the idle sweep).</summary>
    public long IdleSinceMs { get; set; }

    /// <summary>
    /// Connects within <paramref name="timeout"/> (for a TLS server, the handshake included). Connects are rare in
    /// steady state (connections are pooled), so the cancellation source allocated here is not on the per-request path.
    /// A connect that fails or times out throws a <see cref="SocketException"/>; a TLS handshake that fails (the
    /// certificate is not trusted or names another host, no common protocol) an <see cref="UpstreamTlsException"/>.
    /// </summary>
    public static ValueTask<UpstreamConnection> ConnectAsync(UpstreamServer server, TimeSpan timeout)
        => server.Http2 is { } http2 ? http2.OpenStreamAsync(timeout) : ConnectHttp1Async(server, timeout);

    private static async ValueTask<UpstreamConnection> ConnectHttp1Async(UpstreamServer server, TimeSpan timeout)
        => new UpstreamConnection(server, await ConnectTransportAsync(server, timeout, http2: false).ConfigureAwait(false));

    /// <summary>
    /// The socket (and TLS session) of a new connection. With <paramref name="http2"/> over TLS, the server must pick
    /// h2 by ALPN (RFC 9113 §3.2): one that does not speaks something else on this connection.
    /// </summary>
    internal static async ValueTask<IDuplexPipe> ConnectTransportAsync(UpstreamServer server, TimeSpan timeout, bool http2)
    {
        var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SslStream? ssl = null;
        ServerCertificateCheck? check = null;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(server.EndPoint, cts.Token).ConfigureAwait(false);
            if (server.Tls is { } tls)
            {
                ssl = UpstreamTls.CreateStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false, tls, out check);
                await ssl.AuthenticateAsClientAsync(tls, cts.Token).ConfigureAwait(false);
                if (http2 && ssl.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
                {
                    var picked = ssl.NegotiatedApplicationProtocol.Protocol.IsEmpty ? "none" : ssl.NegotiatedApplicationProtocol.ToString();
                    throw new UpstreamTlsException($"the server did not select h2 by ALPN (selected: {picked})", null);
                }
            }
        }
        catch (OperationCanceledException)
        {
            ssl?.Dispose();
            socket.Dispose();
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch (UpstreamTlsException)
        {
            ssl?.Dispose();
            socket.Dispose();
            throw;
        }
        catch (Exception ex) when (ssl is not null && ex is AuthenticationException or IOException)
        {
            ssl.Dispose();
            socket.Dispose();
            throw new UpstreamTlsException(UpstreamTls.Reason(ex, check), ex);
        }
        catch
        {
            ssl?.Dispose();
            socket.Dispose();
            throw;
        }
        if (ssl is not null) return new TlsTransport(socket, ssl, PipeSettings.Send, PipeSettings.UpstreamReceive);
        // Plain HTTP/1.1: the lean transport (no pipes, no loops; 32 KiB reads, so a 16 KiB response is one receive).
        // An HTTP/2 connection reads for ever, frames of many streams: the pipes of a SocketConnection suit it.
        return http2
            ? SocketConnection.Create(socket, PipeSettings.Send, PipeSettings.UpstreamReceive, PipeSettings.Upstream)
            : new LeanSocket(socket, PipeSettings.LargeBlocks);
    }

    /// <summary>
    /// A pooled connection is only reused when nothing has arrived on it while idle: data would be a protocol
    /// error, and a completed input means the server closed it (the usual keep-alive timeout race). The lean
    /// transport knows it from the receive it left in flight (no system call); pipes from what their loop received.
    /// </summary>
    public bool IsReusable()
    {
        if (_disposed) return false;
        if (_transport is LeanSocket lean) return lean.IsQuiet;
        if (!Input.TryRead(out var result)) return true;
        Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        return false;
    }

    /// <summary>Going back to the pool: the lean transport starts watching for the server closing it (see <see cref="IsReusable"/>).</summary>
    public void OnIdle()
    {
        if (_transport is LeanSocket lean) lean.WatchWhileIdle();
    }

    /// <summary>Closes the socket only: whoever is blocked reading or flushing this connection's pipes is released.</summary>
    public void Abort() => ((IDisposable)_transport).Dispose();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { _transport.Input.Complete(); } catch { /* already completed */ }
        try { _transport.Output.Complete(); } catch { /* already completed */ }
        ((IDisposable)_transport).Dispose();
    }
}

/// <summary>The TLS handshake with an upstream server failed: the server is unusable for this request, as a refused connect.</summary>
internal sealed class UpstreamTlsException(string message, Exception? inner) : Exception(message, inner);

/// <summary>
/// An HTTP/2 server could not be used: the connection did not start as HTTP/2 (a server that speaks only HTTP/1.1
/// answers the preface with a 400 or closes), or no SETTINGS came in time. As unusable as a refused connect.
/// </summary>
internal sealed class UpstreamProtocolException(string message) : Exception(message);

/// <summary>
/// Every HTTP/2 connection a server may have is at its stream limit and no stream freed up in time: the server is
/// busy, not failing (503, and no outlier strike).
/// </summary>
internal sealed class UpstreamBusyException(string message) : Exception(message);
