using System.IO.Pipelines;
using System.Net.Sockets;
using FastProxy.Transport;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Upstreams;

/// <summary>One connection to an upstream server, reused across requests while both sides keep it alive.</summary>
internal sealed class UpstreamConnection : IDisposable
{
    private readonly SocketConnection _transport;
    private bool _disposed;

    private UpstreamConnection(UpstreamServer server, SocketConnection transport)
    {
        Server = server;
        _transport = transport;
    }

    public UpstreamServer Server { get; }

    public PipeReader Input => _transport.Input;

    public PipeWriter Output => _transport.Output;

    /// <summary>Requests completed on this connection: 0 means fresh, so a failure on it is not a stale-pool race.</summary>
    public int Requests { get; set; }

    /// <summary>When it went back to the pool (for the idle sweep).</summary>
    public long IdleSinceMs { get; set; }

    /// <summary>
    /// Connects within <paramref name="timeout"/>. Connects are rare in steady state (connections are pooled), so
    /// the cancellation source allocated here is not on the per-request path.
    /// </summary>
    public static async ValueTask<UpstreamConnection> ConnectAsync(UpstreamServer server, TimeSpan timeout)
    {
        var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(server.EndPoint, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var transport = SocketConnection.Create(socket, PipeSettings.Send, PipeSettings.UpstreamReceive, PipeSettings.Upstream);
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
    public void Abort() => _transport.Dispose();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { _transport.Input.Complete(); } catch { /* already completed */ }
        try { _transport.Output.Complete(); } catch { /* already completed */ }
        _transport.Dispose();
    }
}
