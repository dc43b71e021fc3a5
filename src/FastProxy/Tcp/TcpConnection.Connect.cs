using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Balancing;
using FastProxy.Diagnostics;
using FastProxy.Transport;
using FastProxy.Upstreams;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Tcp;

internal sealed partial class TcpConnection
{
    /// <summary>The socket being connected, so that the heartbeat can cut a connect that outlives connect_timeout.</summary>
    private Socket? _connecting;
    private ulong[] _excluded = new ulong[1];

    /// <summary>
    /// Connects to a server of <paramref name="upstream"/> chosen by its balancer; a server that refuses or does not
    /// answer within connect_timeout is excluded and the balancer picks again, until one connects or none is left.
    /// A pick counts as an open connection of its server at once, so that concurrent least_conn picks see it.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ConnectAsync(TcpUpstream upstream)
    {
        var set = upstream.Set;
        int words = set.ExclusionWords;
        if (_excluded.Length < words) _excluded = new ulong[words];
        else Array.Clear(_excluded, 0, words);
        _phase = Phase.Connecting;

        while (!_aborted)
        {
            int index = Pick(set, words);
            if (index < 0)
            {
                if (upstream.FailureLog.ShouldLog(RepeatedFailure.NoServer, out var repeats)) Log.TcpNoServer(_runtime.Name, upstream.Name, repeats);
                return false;
            }
            var server = set.Servers[index];
            server.State.ConnectionOpened();
            var socket = new Socket(server.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            Volatile.Write(ref _connecting, socket);
            Arm(upstream.ConnectTimeoutMs);
            string? failure = null;
            try
            {
                await socket.ConnectAsync(server.EndPoint, CancellationToken.None);
            }
            catch (SocketException ex)
            {
                failure = ex.Message;
            }
            catch (ObjectDisposedException)
            {
                failure = "aborted";
            }
            bool inTime = Disarm();
            Volatile.Write(ref _connecting, null);

            if (failure is null && inTime && !_aborted)
            {
                OutlierDetector.Succeeded(server);
                server.Health.CountRequest();
                _server = server;
                _upstream = SocketConnection.Create(socket, RelaySend, PipeSettings.UpstreamReceive, PipeSettings.Upstream);
                return true;
            }
            socket.Dispose();
            server.State.ConnectionClosed();
            if (_aborted) return false;
            if (server.FailureLog.ShouldLog(RepeatedFailure.Connect, out var failures))
                Log.UpstreamConnectFailed(upstream.Name, server.Display, inTime ? failure! : "connect_timeout passed", failures);
            upstream.Outliers.Failed(server, Heartbeat.NowMs);
            PickContext.Exclude(_excluded, index);
        }
        return false;
    }

    private int Pick(ServerSet set, int words)
        => set.TcpBalancer.Pick(new PickContext { ClientHash = _clientHash, KeyHash = _clientHash, Excluded = _excluded.AsSpan(0, words) });
}
