using System.Net;
using FastProxy.Admin;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Transport;

namespace FastProxy.Hosting;

/// <summary>
/// Reload (SIGHUP): the new generation's sockets are all bound before any old one is let go, so a reload refused for a
/// port in use leaves every listener, and the admin listener, exactly as it was.
/// </summary>
internal sealed partial class ProxyHost
{
    /// <summary>
    /// SIGHUP: serve new requests with <paramref name="config"/>. Listeners whose address (and reuse_port) is unchanged
    /// keep their socket, so no connection is dropped and there is no moment without one; new and moved ones are bound
    /// first; removed and moved ones stop accepting once the new generation is in place, and their connections finish on
    /// the old configuration. Any failure throws, closes only what this reload had bound, and the old configuration
    /// keeps serving on its own sockets.
    /// </summary>
    public void Reload(ProxyConfig config)
    {
        try
        {
            var unsupported = ProxyRuntime.Unsupported(config);
            if (unsupported.Count > 0) throw new ProxyStartException(unsupported);
            lock (_reloadLock)
            {
                var runtime = ProxyRuntime.Build(config, _runtime);
                bool adminMoves = !SameAdmin(_admin, config.Admin);
                var sockets = BindNewSockets(config, runtime, adminMoves);
                Commit(config, runtime, sockets, adminMoves);
                _services.AccessLog.Apply(config);
            }
        }
        catch
        {
            _services.Metrics.ReloadFinished(ok: false);
            throw;
        }
        _services.Metrics.ReloadFinished(ok: true);
        StartDiscovery(config);
        foreach (var note in ProxyRuntime.NotEnforced(config)) Log.ConfigWarning(note);
    }

    /// <summary>What a reload bound, and the old sockets it already had to close to do so.</summary>
    private sealed class NewSockets
    {
        public readonly List<Listener> Listeners = [];
        public AdminServer? Admin;

        /// <summary>Old listeners stopped before the commit because a new socket takes their address (see <see cref="BindNewSockets"/>).</summary>
        public readonly List<Listener> Released = [];

        /// <summary>The old admin listener, when it was stopped before the commit for the same reason.</summary>
        public AdminServer? ReleasedAdmin;

        /// <summary>Closes what this reload bound (nothing it did not).</summary>
        public void CloseBound()
        {
            foreach (var listener in Listeners) _ = listener.StopAsync();
            if (Admin is not null) _ = Admin.StopAsync();
        }
    }

    /// <summary>
    /// Binds every socket the new configuration needs and the old one does not have. Those whose address no old socket
    /// of ours holds come first: a failure among them closes them and changes nothing else. The few that take over an
    /// address an old socket holds (two listeners swapping ports, a move to or from a wildcard address on the same port,
    /// a change of reuse_port) cannot be bound while it listens: they go last, after that old socket is closed, and if
    /// one of them fails the closed old sockets are bound again where they were.
    /// </summary>
    private NewSockets BindNewSockets(ProxyConfig config, ProxyRuntime runtime, bool adminMoves)
    {
        var pending = new List<(ListenerConfig Config, IPEndPoint EndPoint)>();
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var listener in config.Listeners)
        {
            _listeners.TryGetValue(listener.Name, out var existing);
            if (existing is not null && SameBind(existing, listener)) kept.Add(listener.Name);
            else pending.Add((listener, AddressFor(existing, listener)));
        }
        var released = new List<Listener>();
        foreach (var (name, listener) in _listeners)
        {
            if (!kept.Contains(name)) released.Add(listener);
        }
        var releasedAdmin = adminMoves ? _admin : null;
        var newAdmin = adminMoves ? config.Admin?.EndPoint : null;

        bool TakesOurs(IPEndPoint endPoint)
        {
            if (endPoint.Port == 0) return false;
            foreach (var old in released)
                if (Overlap(old.EndPoint, endPoint)) return true;
            return releasedAdmin is not null && Overlap(releasedAdmin.EndPoint, endPoint);
        }

        var sockets = new NewSockets();
        try
        {
            if (newAdmin is not null && !TakesOurs(newAdmin)) sockets.Admin = AdminServer.Bind(newAdmin, this);
            foreach (var (listener, endPoint) in pending)
            {
                if (!TakesOurs(endPoint)) sockets.Listeners.Add(BindFor(listener, endPoint, runtime));
            }

            var takeovers = new List<IPEndPoint>();
            foreach (var (_, endPoint) in pending)
                if (TakesOurs(endPoint)) takeovers.Add(endPoint);
            bool adminTakesOver = newAdmin is not null && TakesOurs(newAdmin);
            if (adminTakesOver) takeovers.Add(newAdmin!);
            if (takeovers.Count == 0) return sockets;

            foreach (var old in released)
            {
                if (!OverlapsAny(old.EndPoint, takeovers)) continue;
                sockets.Released.Add(old);
                _ = old.StopAsync(); // the listening socket closes here; the accept loop ends on its own
            }
            if (releasedAdmin is not null && OverlapsAny(releasedAdmin.EndPoint, takeovers))
            {
                sockets.ReleasedAdmin = releasedAdmin;
                _ = releasedAdmin.StopAsync();
            }
            foreach (var (listener, endPoint) in pending)
            {
                if (TakesOurs(endPoint)) sockets.Listeners.Add(BindFor(listener, endPoint, runtime));
            }
            if (adminTakesOver) sockets.Admin = AdminServer.Bind(newAdmin!, this);
            return sockets;
        }
        catch
        {
            sockets.CloseBound();
            RestoreReleased(sockets);
            throw;
        }
    }

    private Listener BindFor(ListenerConfig listener, IPEndPoint endPoint, ProxyRuntime runtime)
        => Listener.Bind(listener.Name, endPoint, listener.ReusePort, _services.Limiter, CreateDispatcher(listener.Name, runtime)!);

    /// <summary>
    /// After a failed takeover: the old sockets it had closed are bound again at their address, with their options, serving
    /// the old configuration. The address was ours a moment ago, so this fails only if someone else took it meanwhile.
    /// </summary>
    private void RestoreReleased(NewSockets sockets)
    {
        foreach (var old in sockets.Released)
        {
            try
            {
                var again = Listener.Bind(old.Name, old.EndPoint, old.ReusePort, _services.Limiter, old.Dispatcher);
                _listeners[old.Name] = again;
                again.Start();
            }
            catch (ListenerBindException ex)
            {
                _listeners.Remove(old.Name);
                Log.RebindFailed(ex.Message);
            }
        }
        if (sockets.ReleasedAdmin is { } admin)
        {
            try
            {
                _admin = AdminServer.Bind(admin.EndPoint, this);
                _admin.Start();
            }
            catch (ListenerBindException ex)
            {
                _admin = null;
                Log.RebindFailed(ex.Message);
            }
        }
    }

    /// <summary>Every socket is bound: the new generation takes over, and old sockets not carried over close.</summary>
    private void Commit(ProxyConfig config, ProxyRuntime runtime, NewSockets sockets, bool adminMoves)
    {
        // The new generation's label sets, before its first connection (series of kept names carry their counts on).
        _services.Metrics.Bind(runtime);
        var next = new Dictionary<string, Listener>(StringComparer.Ordinal);
        foreach (var listener in sockets.Listeners) next[listener.Name] = listener;
        foreach (var (name, listener) in _listeners)
        {
            if (!next.ContainsKey(name) && CreateDispatcher(name, runtime) is { } dispatcher)
            {
                // Kept: the same socket, the new routes.
                listener.Dispatcher = dispatcher;
                next[name] = listener;
            }
            else if (!sockets.Released.Contains(listener))
            {
                _ = listener.StopAsync();
            }
        }
        _listeners.Clear();
        foreach (var (name, listener) in next) _listeners[name] = listener;

        _services.Limiter.Max = config.Global.MaxConnections;
        var old = _runtime;
        Observability.Tracing.TracingObserver.Apply(_services.Observability, runtime.Tracer);
        _runtime = runtime;
        foreach (var listener in sockets.Listeners)
        {
            listener.Start();
            Log.Listening(listener.Name, listener.EndPoint.ToString(), ProtocolName(listener.Name, runtime));
        }
        if (adminMoves)
        {
            if (_admin is not null && sockets.ReleasedAdmin is null) _ = _admin.StopAsync();
            _admin = sockets.Admin;
            _admin?.Start();
        }
        runtime.StartHealthChecks();
        // The old generation's upstream connections are no longer reachable by new requests: idle ones close now,
        // the ones in-flight requests still use close when those end.
        old.Retire();
        // Open HTTP/2 client connections get a graceful GOAWAY at their next heartbeat (Http1Connection.OnHeartbeat):
        // their streams finish, then they close, and their clients reconnect under this configuration.
        _services.NextGeneration();
    }

    /// <summary>
    /// Where a listener that needs a new socket binds: its configured address, except that a listener on port 0 whose
    /// only change is reuse_port keeps the port the OS gave it.
    /// </summary>
    private static IPEndPoint AddressFor(Listener? existing, ListenerConfig config)
        => config.EndPoint.Port == 0 && existing is not null && existing.EndPoint.Address.Equals(config.EndPoint.Address)
            ? existing.EndPoint
            : config.EndPoint;

    private static bool SameAdmin(AdminServer? current, AdminConfig? config)
    {
        if (current is null || config is null) return current is null && config is null;
        return config.EndPoint.Port == 0 ? current.EndPoint.Address.Equals(config.EndPoint.Address) : current.EndPoint.Equals(config.EndPoint);
    }

    /// <summary>The listener can keep its socket: same address (any port when the config says 0) and same reuse_port.</summary>
    private static bool SameBind(Listener existing, ListenerConfig config)
        => existing.ReusePort == config.ReusePort &&
           (config.EndPoint.Port == 0 ? existing.EndPoint.Address.Equals(config.EndPoint.Address) : existing.EndPoint.Equals(config.EndPoint));

    private static bool OverlapsAny(IPEndPoint endPoint, List<IPEndPoint> others)
    {
        foreach (var other in others)
            if (Overlap(endPoint, other)) return true;
        return false;
    }

    /// <summary>
    /// Two listening sockets that cannot both be bound: the same port and the same address, or a wildcard address on
    /// either side (counted across families, since "[::]" also takes IPv4).
    /// </summary>
    private static bool Overlap(IPEndPoint a, IPEndPoint b) =>
        a.Port == b.Port && (a.Address.Equals(b.Address) || IsWildcard(a.Address) || IsWildcard(b.Address));

    private static bool IsWildcard(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
}
