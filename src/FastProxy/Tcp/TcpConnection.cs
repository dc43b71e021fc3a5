using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Balancing;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Transport;
using FastProxy.Upstreams;
using Microsoft.Extensions.ObjectPool;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Tcp;

/// <summary>
/// One client connection of a tcp listener, from accept to close: read the TLS ClientHello when the listener
/// routes by SNI, pick an upstream server (the next one when a connect fails), then relay bytes both ways until
/// each side has finished, each direction closing on its own (half-close).
/// Instances are pooled; timeouts are deadlines checked by the shared <see cref="Heartbeat"/>.
/// </summary>
/// <remarks>Split by concern: .ProxyProtocol (the header before everything), .Tls, .Hello (SNI), .Connect (server choice and failover), .Relay (the byte copy).</remarks>
internal sealed partial class TcpConnection : IHeartbeatTarget, IAbortable
{
    private enum Phase
    {
        /// <summary>In the pool, or closing.</summary>
        None,
        /// <summary>Waiting for the ClientHello (header_timeout).</summary>
        Hello,
        /// <summary>Connecting to a server (connect_timeout, per server).</summary>
        Connecting,
        /// <summary>Relaying (idle_timeout).</summary>
        Relay,
    }

    /// <summary>A SocketConnection, or a <see cref="TlsTransport"/> when the listener terminates TLS.</summary>
    private IDuplexPipe? _client;
    private SocketConnection? _upstream;
    /// <summary>The server <see cref="_upstream"/> is connected to: counted in its <see cref="BalancedServer.OpenConnections"/>.</summary>
    private UpstreamServer? _server;
    private TcpListenerRuntime _runtime = null!;
    private ProxyServices _services = null!;
    private int _heartbeatSlot = -1;
    private ulong _clientHash;

    private volatile Phase _phase;
    private volatile bool _aborted;

    /// <summary>
    /// The deadline of the ClientHello or of the connect in progress; long.MaxValue when none. Whoever moves it to
    /// long.MaxValue first owns it: the heartbeat (it fires) or the connection (it finished in time).
    /// </summary>
    private long _dueMs = long.MaxValue;
    /// <summary>What the connection itself armed (only it reads this): tells a deadline it disarmed from one that fired.</summary>
    private long _armedDueMs = long.MaxValue;

    /// <summary>
    /// The pool of one <see cref="ProxyServices"/> (it lives across reloads): a connection goes back to the pool of
    /// the proxy it served, so a stopping proxy that aborts what is left can never reach another proxy's connection.
    /// </summary>
    public static ObjectPool<TcpConnection> CreatePool() => new DefaultObjectPool<TcpConnection>(new Policy(), maximumRetained: 1024);

    public static void Start(Socket socket, TcpListenerRuntime runtime, ProxyServices services)
    {
        var connection = services.TcpConnectionPool.Get();
        connection.Begin(socket, runtime, services);
    }

    /// <summary>The listener's metrics when it opened (null while metrics are off): its close is counted on the same series.</summary>
    private Observability.Metrics.ListenerSeries? _metrics;

    private void Begin(Socket socket, TcpListenerRuntime runtime, ProxyServices services)
    {
        _runtime = runtime;
        _services = services;
        // For ip_hash. An IPv4 client on a dual-stack listener hashes as IPv4 (ClientAddressHash unmaps it).
        _clientHash = socket.RemoteEndPoint is IPEndPoint remote ? ClientAddressHash.Compute(remote.Address) : 0;
        // Receive buffers are the large ones on both sides: nothing is held across requests here, so large reads
        // only cut syscalls (an idle connection holds none at all: zero-length reads).
        services.ConnectionOpened();
        // The series of the generation it was accepted under (by listener name, so the same across reloads).
        _metrics = runtime.Metrics;
        _metrics?.ConnectionOpened(Observability.Metrics.ConnectionProtocol.Tcp, runtime.Tls is not null);
        _heartbeatSlot = services.Heartbeat.Register(this);
        if (runtime.Tls is not null || runtime.ProxyProtocol is not null)
        {
            // The client side becomes a TlsTransport once the handshake is done, or a SocketConnection once the PROXY
            // protocol header has been taken from the socket (RunAsync).
            _handshakeSocket = socket;
        }
        else
        {
            _client = SocketConnection.Create(socket, RelaySend, PipeSettings.UpstreamReceive, PipeSettings.Client);
        }
        _ = RunAsync();
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask RunAsync()
    {
        try
        {
            var upstream = _runtime.DefaultUpstream;
            if (_runtime.ProxyProtocol is { } proxyProtocol && !await ReadProxyHeaderAsync(proxyProtocol)) return;
            if (_runtime.Tls is { } tls)
            {
                if (!await HandshakeAsync(tls)) return;
                if (_runtime.Router is { } sniRouter)
                {
                    // Terminated here: the name comes from the handshake itself, not from reading the ClientHello.
                    upstream = RouteByServerName(sniRouter, upstream);
                    if (upstream is null) return;
                }
            }
            else if (_runtime.Router is { } router)
            {
                var error = await ReadClientHelloAsync();
                if (error != HelloError.None)
                {
                    Log.TcpHelloRejected(_runtime.Name, error);
                    return;
                }
                var route = router.Match(_hello.ServerName);
                upstream = route?.Upstream ?? upstream;
                if (upstream is null)
                {
                    Log.TcpNoRoute(_runtime.Name, _hello.ServerName);
                    return;
                }
                // The name was all that was needed; the ClientHello itself stays in the pipe and is forwarded.
                _hello.Reset();
            }

            if (!await ConnectAsync(upstream!)) return;

            StartRelay();
            var up = RelayAsync(_client!.Input, _upstream!.Output);
            var down = RelayAsync(_upstream.Input, _client.Output);
            await up;
            await down;
            if (_idleTimedOut) Log.TcpIdleTimeout(_runtime.Name);
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_runtime.Name, ex);
        }
        finally
        {
            Close();
        }
    }

    private void Close()
    {
        _phase = Phase.None;
        _services.Heartbeat.Unregister(_heartbeatSlot);
        _heartbeatSlot = -1;
        _hello.Reset();
        Shut(_upstream);
        Shut(_client);
        _server?.State.ConnectionClosed();
        _metrics?.ConnectionClosed(Observability.Metrics.ConnectionProtocol.Tcp, _runtime.Tls is not null);
        _metrics = null;
        _services.ConnectionClosed();
        _services.Limiter.Release();
        _services.TcpConnectionPool.Return(this);
    }

    private static void Shut(IDuplexPipe? connection)
    {
        if (connection is null) return;
        try { connection.Input.Complete(); } catch { /* already completed */ }
        try { connection.Output.Complete(); } catch { /* already completed */ }
        ((IDisposable)connection).Dispose();
    }

    /// <summary>Cuts the connection (idle timeout, or the end of a graceful stop): both sockets close, the loops end on the errors.</summary>
    public void Abort()
    {
        _aborted = true;
        Volatile.Read(ref _connecting)?.Dispose();
        Volatile.Read(ref _handshakeSocket)?.Dispose();
        (_client as IDisposable)?.Dispose();
        _upstream?.Dispose();
    }

    public void OnHeartbeat(long nowMs)
    {
        long due = Volatile.Read(ref _dueMs);
        if (nowMs >= due)
        {
            // Read before the deadline is claimed: while it is still armed, these belong to the same step.
            var phase = _phase;
            var connecting = Volatile.Read(ref _connecting);
            if (Interlocked.CompareExchange(ref _dueMs, long.MaxValue, due) != due) return;
            if (phase == Phase.Hello) _client?.Input.CancelPendingRead();
            else connecting?.Dispose();
            return;
        }
        if (_phase == Phase.Relay) CheckIdle(nowMs);
    }

    /// <summary>Arms the deadline of the current step; 0 or less: none.</summary>
    private void Arm(long timeoutMs)
    {
        _armedDueMs = timeoutMs <= 0 ? long.MaxValue : Heartbeat.NowMs + timeoutMs;
        Volatile.Write(ref _dueMs, _armedDueMs);
    }

    /// <summary>Disarms the current step's deadline; false when the heartbeat fired it first (the step timed out).</summary>
    private bool Disarm()
    {
        long previous = Interlocked.Exchange(ref _dueMs, long.MaxValue);
        bool fired = _armedDueMs != long.MaxValue && previous == long.MaxValue;
        _armedDueMs = long.MaxValue;
        return !fired;
    }

    /// <summary>Called by the pool: drop every reference to the finished connection so it can be collected.</summary>
    private bool ResetForPool()
    {
        _client = null;
        _upstream = null;
        _server = null;
        _connecting = null;
        _handshakeSocket = null;
        ClientCertificateSubject = null;
        _runtime = null!;
        _services = null!;
        _aborted = false;
        _idleTimedOut = false;
        _dueMs = long.MaxValue;
        _armedDueMs = long.MaxValue;
        return true;
    }

    private sealed class Policy : PooledObjectPolicy<TcpConnection>
    {
        public override TcpConnection Create() => new();

        public override bool Return(TcpConnection obj) => obj.ResetForPool();
    }
}
