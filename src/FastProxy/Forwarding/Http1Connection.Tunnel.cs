using FastProxy.Async;
using System.Runtime.CompilerServices;
using FastProxy.Diagnostics;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>
    /// After 101 Switching Protocols (RFC 9110 §15.2.2) the connection is no longer HTTP: bytes are relayed both
    /// ways until each side has finished, each direction closing on its own (half-close).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Exchange> TunnelAsync(UpstreamConnection connection)
    {
        _tunnelled = true;
        if (!_requestConsumed) ConsumeRequest();
        Forwarding.ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ConnectionHeader.None, false, upgrade: true);
        connection.Input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
        ReleaseResponseScratch();
        var flush = await _output.FlushAsync();
        if (flush.IsCompleted)
        {
            connection.Dispose();
            return Exchange.Close;
        }

        // idle_timeout applies to the tunnel as a whole: no byte either way for that long cuts both sides (as
        // nginx's proxy_read_timeout and HAProxy's timeout tunnel do for WebSockets). The heartbeat checks it.
        Volatile.Write(ref _tunnelProgressMs, Transport.Heartbeat.NowMs);
        Volatile.Write(ref _tunnelIdleMs, Runtime.IdleTimeoutMs);
        Volatile.Write(ref _tunnelUpstream, connection);

        var up = CopyTunnelAsync(_input, connection.Output);
        var down = CopyTunnelAsync(connection.Input, _output);
        await up;
        await down;
        Volatile.Write(ref _tunnelIdleMs, 0);
        Volatile.Write(ref _tunnelUpstream, null);
        connection.Dispose();
        return Exchange.Close;
    }

    private long _tunnelProgressMs;
    /// <summary>The tunnel's idle timeout; 0 while not tunnelling (or no timeout).</summary>
    private long _tunnelIdleMs;
    private UpstreamConnection? _tunnelUpstream;

    /// <summary>
    /// One direction of the tunnel: copies raw bytes until the source ends, then ends the destination too, noting each
    /// read as progress for the idle timeout.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask CopyTunnelAsync(System.IO.Pipelines.PipeReader source, System.IO.Pipelines.PipeWriter destination)
    {
        try
        {
            while (true)
            {
                var result = await source.ReadAsync();
                Volatile.Write(ref _tunnelProgressMs, Transport.Heartbeat.NowMs);
                var buffer = result.Buffer;
                WriteSequence(destination, buffer);
                source.AdvanceTo(buffer.End);
                var flush = await destination.FlushAsync();
                if (result.IsCompleted || result.IsCanceled || flush.IsCompleted) break;
            }
        }
        catch (Exception)
        {
            // One side went away: the other direction ends as a consequence.
        }
        finally
        {
            // Half-close: the peer sees end-of-stream in this direction only.
            try { await destination.CompleteAsync(); } catch { /* already completed */ }
        }
    }

    /// <summary>From the heartbeat: a tunnel quiet both ways for its idle timeout is cut, client and server side.</summary>
    private void CheckTunnelIdle(long nowMs)
    {
        long idle = Volatile.Read(ref _tunnelIdleMs);
        if (idle <= 0 || nowMs - Volatile.Read(ref _tunnelProgressMs) < idle) return;
        Volatile.Write(ref _tunnelIdleMs, 0);
        Log.TunnelIdleTimeout(Runtime.Name);
        Volatile.Read(ref _tunnelUpstream)?.Abort();
        Abort();
    }
}
