using System.Net;
using FastProxy.Admin;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Forwarding;
using FastProxy.Tcp;
using FastProxy.Transport;

namespace FastProxy.Hosting;

/// <summary>
/// The running proxy: binds the listeners of a configuration, swaps configurations on reload, and drains on stop.
/// Tests start one in-process; the binary starts one from <see cref="Program"/>.
/// </summary>
internal sealed partial class ProxyHost : IAsyncDisposable, IHeartbeatTarget
{
    /// <summary>How often the upstream pools are swept: connections idle past their timeout close, and the number kept follows the load.</summary>
    private const long SweepIntervalMs = 1000;

    private readonly ProxyServices _services;
    private readonly Dictionary<string, Listener> _listeners = new(StringComparer.Ordinal);
    private readonly Lock _reloadLock = new();
    private volatile ProxyRuntime _runtime;
    private AdminServer? _admin;
    /// <summary>DNS re-resolution and servers_file watching; null while no upstream needs either.</summary>
    private Upstreams.Discovery.UpstreamDiscovery? _discovery;
    private readonly int _heartbeatSlot;
    private long _nextSweepMs;
    private int _stopped;

    private ProxyHost(ProxyConfig config)
    {
        // Built first: a certificate that cannot be loaded must not leave the heartbeat's timer running.
        _runtime = ProxyRuntime.Build(config);
        _services = new ProxyServices(config.Global.MaxConnections);
        _services.Metrics.Bind(_runtime);
        Observability.Tracing.TracingObserver.Apply(_services.Observability, _runtime.Tracer);
        _heartbeatSlot = _services.Heartbeat.Register(this);
    }

    public ProxyConfig Config => _runtime.Config;

    internal ProxyRuntime Runtime => _runtime;

    internal ProxyServices Services => _services;

    /// <summary>Each listener's bound address by name (the actual port when the config asked for port 0).</summary>
    public IReadOnlyDictionary<string, IPEndPoint> EndPoints
    {
        get
        {
            lock (_reloadLock)
            {
                var map = new Dictionary<string, IPEndPoint>(StringComparer.Ordinal);
                foreach (var (name, listener) in _listeners) map[name] = listener.EndPoint;
                return map;
            }
        }
    }

    /// <summary>The admin listener's bound address; null without [admin].</summary>
    public IPEndPoint? AdminEndPoint
    {
        get
        {
            lock (_reloadLock) return _admin?.EndPoint;
        }
    }

    /// <summary>Binds every listener and starts accepting. A bind failure unbinds what was bound and throws.</summary>
    public static ProxyHost Start(ProxyConfig config)
    {
        var unsupported = ProxyRuntime.Unsupported(config);
        if (unsupported.Count > 0) throw new ProxyStartException(unsupported);

        var host = new ProxyHost(config);
        try
        {
            host._services.AccessLog.Start(config);
        }
        catch (Observability.AccessLog.AccessLogOpenException ex)
        {
            _ = host.DisposeAsync().AsTask();
            throw new ProxyStartException([ex.Message]);
        }
        try
        {
            foreach (var listener in config.Listeners) host.BindListener(listener, host._runtime);
            if (config.Admin is not null) host._admin = AdminServer.Bind(config.Admin.EndPoint, host);
        }
        catch
        {
            _ = host.DisposeAsync().AsTask();
            throw;
        }
        foreach (var listener in host._listeners.Values)
        {
            listener.Start();
            Log.Listening(listener.Name, listener.EndPoint.ToString(), ProtocolName(listener.Name, host._runtime));
        }
        host._admin?.Start();
        host._runtime.StartHealthChecks();
        host.StartDiscovery(config);
        foreach (var note in ProxyRuntime.NotEnforced(config)) Log.ConfigWarning(note);
        foreach (var warning in config.Warnings) Log.ConfigWarning(warning.ToString());
        return host;
    }

    private void BindListener(ListenerConfig config, ProxyRuntime runtime)
    {
        var dispatcher = CreateDispatcher(config.Name, runtime)!;
        _listeners[config.Name] = Listener.Bind(config.Name, config.EndPoint, config.ReusePort, _services.Limiter, dispatcher);
    }

    /// <summary>The protocol side of a listener in <paramref name="runtime"/>; null when the listener is not in it.</summary>
    private IConnectionDispatcher? CreateDispatcher(string name, ProxyRuntime runtime)
    {
        if (runtime.TcpListeners.TryGetValue(name, out var tcp)) return new TcpDispatcher(tcp, _services);
        if (runtime.Listeners.TryGetValue(name, out var http)) return new Http1Dispatcher(http, _services);
        return null;
    }

    private static string ProtocolName(string name, ProxyRuntime runtime) => runtime.TcpListeners.ContainsKey(name) ? "tcp" : "http";

    /// <summary>
    /// Graceful stop: stop accepting, let in-flight requests finish (keep-alive connections close after their
    /// current response, idle ones at once), and cut whatever is left when <paramref name="timeout"/> passes.
    /// </summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return 0;
        Listener[] listeners;
        lock (_reloadLock) listeners = [.. _listeners.Values];
        foreach (var listener in listeners) await listener.StopAsync();
        Log.Stopping("shutdown", _services.ActiveConnections);
        _services.Draining = true;

        var deadline = DateTime.UtcNow + timeout;
        while (_services.ActiveConnections > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        int abandoned = _services.ActiveConnections;
        if (abandoned > 0) _services.Heartbeat.ForEach(static t => (t as IAbortable)?.Abort());
        Upstreams.Discovery.UpstreamDiscovery? discovery;
        lock (_reloadLock)
        {
            discovery = _discovery;
            _discovery = null;
        }
        if (discovery is not null) await discovery.DisposeAsync();
        _runtime.Retire();
        // After the requests: their lines are queued, and the writer writes them out before it closes the file.
        _services.AccessLog.Stop();
        AdminServer? admin;
        lock (_reloadLock) admin = _admin;
        if (admin is not null) await admin.StopAsync();
        return abandoned;
    }

    /// <summary>SIGUSR1: files this process writes are opened again by name (logrotate renamed them).</summary>
    public void ReopenLogs() => _services.AccessLog.Reopen();
    /// <summary>
    /// POST /upstreams/NAME/servers/ADDRESS/drain (true) or /enable (false) on the serving generation. Under the reload
    /// lock: a reload builds its generation from the current one's server states and swaps it in under the same lock,
    /// so a drain lands either before (and is carried over) or after (on the new generation), never in between.
    /// </summary>
    /// <param name="address">The server as written in the file ("10.0.0.1:9001", "[::1]:9001"), or an IP endpoint
    /// that exactly one server of the upstream resolved to.</param>
    internal (DrainOutcome Outcome, Upstreams.UpstreamServer? Server) SetDrained(string upstream, string address, bool drained)
    {
        lock (_reloadLock)
        {
            if (!_runtime.Upstreams.TryGetValue(upstream, out var found)) return (DrainOutcome.NoUpstream, null);
            var server = FindServer(found, address);
            if (server is null) return (DrainOutcome.NoServer, null);
            server.SetDrained(drained);
            return (DrainOutcome.Done, server);
        }
    }

    private static Upstreams.UpstreamServer? FindServer(Upstreams.Upstream upstream, string address)
    {
        foreach (var server in upstream.Servers)
            if (string.Equals(server.Address, address, StringComparison.OrdinalIgnoreCase)) return server;
        // A host name as written ("app.internal:9000"), when it stands for exactly one server now.
        Upstreams.UpstreamServer? declared = null;
        int named = 0;
        foreach (var server in upstream.Servers)
        {
            if (!string.Equals(server.Declared, address, StringComparison.OrdinalIgnoreCase)) continue;
            declared = server;
            named++;
        }
        if (named == 1) return declared;
        // "[::1]:8080" for a server written "[0:0::1]:8080", or its resolved address for a host name: only when unambiguous.
        if (!IPEndPoint.TryParse(address, out var endPoint)) return null;
        Upstreams.UpstreamServer? match = null;
        foreach (var server in upstream.Servers)
        {
            if (!server.EndPoint.Equals(endPoint)) continue;
            if (match is not null) return null;
            match = server;
        }
        return match;
    }

    /// <summary>Starts the discovery loop when <paramref name="config"/> has something to discover (at start and after a reload).</summary>
    private void StartDiscovery(ProxyConfig config)
    {
        lock (_reloadLock)
        {
            if (_discovery is null && Volatile.Read(ref _stopped) == 0 && Upstreams.Discovery.UpstreamDiscovery.Needed(config))
                _discovery = Upstreams.Discovery.UpstreamDiscovery.Start(this);
        }
    }

    /// <summary>
    /// Discovery's new server list for <paramref name="upstream"/>, applied under the reload lock (so a reload or a
    /// drain never interleaves with it), and only while that upstream still serves: after a reload replaced it, the
    /// new generation's own discovery takes over.
    /// </summary>
    internal void ApplyDiscovered(Upstreams.Upstream upstream, IReadOnlyList<ServerConfig> declared, IReadOnlyList<ServerConfig> expanded, string source)
    {
        lock (_reloadLock)
        {
            if (!_runtime.Upstreams.TryGetValue(upstream.Name, out var serving) || !ReferenceEquals(serving, upstream)) return;
            if (upstream.ApplyServers(declared, expanded, out int added, out int removed))
                Log.ServersChanged(upstream.Name, source, added, removed, upstream.Servers.Length);
        }
    }

    public void OnHeartbeat(long nowMs)
    {
        Forwarding.DateHeader.Refresh();
        _runtime.Tick(nowMs);
        MemoryReclaimer.OnHeartbeat(nowMs);
        if (nowMs < _nextSweepMs) return;
        _nextSweepMs = nowMs + SweepIntervalMs;
        _runtime.SweepUpstreamPools(nowMs, nowMs - (long)Upstreams.Upstream.PoolIdleTimeout.TotalMilliseconds);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero);
        _services.Heartbeat.Unregister(_heartbeatSlot);
        _services.Dispose();
    }
}

/// <summary>What a drain or enable found.</summary>
internal enum DrainOutcome { Done, NoUpstream, NoServer }

/// <summary>The configuration is valid but asks for something this build cannot serve.</summary>
internal sealed class ProxyStartException(IReadOnlyList<string> problems) : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
