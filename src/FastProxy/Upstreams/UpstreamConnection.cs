using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Net.Sockets;
using FastProxy.Transport;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Upstreams;

/// <summary>One connection to an upstream server, reused across requests while both sides keep it alive.</summary>
internal sealed class UpstreamConnection : IDisposable
{
    /// <summary>A SocketConnection, or a <see cref="TlsTransport"/> for servers spoken to over TLS: the same two pipes.</summary>
    private readonly IDuplexPipe _transport;
    private bool _disposed;

    private UpstreamConnection(UpstreamServer server, IDuplexPipe transport)
    {
        Server = server;
        _transport = transport;
        Input = transport.Input;
        Output = transport.Output;
    }

    public UpstreamServer Server { get; }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

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
    public static async ValueTask<UpstreamConnection> ConnectAsync(UpstreamServer server, TimeSpan timeout)
    {
        var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SslStream? ssl = null;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(server.EndPoint, cts.Token).ConfigureAwait(false);
            if (server.Tls is { } tls)
            {
                ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsClientAsync(tls, cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            ssl?.Dispose();
            socket.Dispose();
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch (Exception ex) when (ssl is not null && ex is AuthenticationException or IOException)
        {
            ssl.Dispose();
            socket.Dispose();
            throw new UpstreamTlsException(ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message, ex);
        }
        catch
        {
            ssl?.Dispose();
            socket.Dispose();
            throw;
        }
        IDuplexPipe transport = ssl is null
            ? SocketConnection.Create(socket, PipeSettings.Send, PipeSettings.UpstreamReceive, PipeSettings.Upstream)
            : new TlsTransport(socket, ssl, PipeSettings.Send, PipeSettings.UpstreamReceive);
        return new UpstreamConnection(server, transport);
    }

    /// <summary>
    /// A pooled connection is only reused when nothing has arrived on it while idle: data would be a protocol
    /// error, and a completed input means the server closed it (the usual keep-alive timeout race).
    /// </summary>
    public bool IsReusable()
    {
        if (_disposed) return false;
        if (!Input.TryRead(out var result)) return true;
        Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        return false;
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
internal sealed class UpstreamTlsException(string message, Exception inner) : Exception(message, inner);
