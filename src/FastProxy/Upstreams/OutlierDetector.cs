using FastProxy.Configuration;
using FastProxy.Diagnostics;

namespace FastProxy.Upstreams;

/// <summary>
/// Passive health ([upstreams.X.passive]): `consecutive_failures` connect errors, resets, timeouts or 5xx in a row
/// eject a server for `eject` times the number of its ejections (capped at <see cref="MaxMultiplier"/>), as Envoy's
/// outlier detection does, and never more than `max_ejected_percent` of the upstream's servers at once: a fault that
/// hits every server (the network, a shared database) must not empty the upstream. An ejected server returns when its
/// time is up (<see cref="Tick"/>, from the heartbeat); a server that then ran well for as long as it was last out
/// starts again from one `eject`.
/// </summary>
internal sealed class OutlierDetector
{
    /// <summary>The longest ejection is this many times `eject`.</summary>
    public const int MaxMultiplier = 10;

    private readonly Lock _lock = new();
    private readonly string _upstream;
    private UpstreamServer[] _servers;
    private readonly int _threshold;
    private readonly long _ejectMs;
    private readonly int _maxEjectedPercent;
    private int _ejected;

    public OutlierDetector(string upstream, UpstreamServer[] servers, PassiveHealthConfig? config)
    {
        _upstream = upstream;
        _servers = servers;
        Enabled = config is not null;
        _threshold = Math.Max(config?.ConsecutiveFailures ?? 0, 1);
        _ejectMs = (long)(config?.Eject.TotalMilliseconds ?? 0);
        _maxEjectedPercent = config?.MaxEjectedPercent ?? 0;
    }

    public bool Enabled { get; }

    /// <summary>Servers ejected now.</summary>
    public int EjectedCount => Volatile.Read(ref _ejected);

    /// <summary>A request got an answer that is not a server error: the failure streak ends. Hot path: a read, rarely a write.</summary>
    public static void Succeeded(UpstreamServer server)
    {
        if (Volatile.Read(ref server.Health.ConsecutiveFailures) != 0) Volatile.Write(ref server.Health.ConsecutiveFailures, 0);
    }

    /// <summary>A connect error, reset, timeout or 5xx from <paramref name="server"/>.</summary>
    public void Failed(UpstreamServer server, long nowMs)
    {
        var health = server.Health;
        health.CountFailure();
        // A server discovery removed is draining already; ejecting it would count it against the others forever.
        if (!Enabled || server.Removed) return;
        long duration;
        lock (_lock)
        {
            if (health.Ejected) return;
            if (++health.ConsecutiveFailures < _threshold) return;
            health.ConsecutiveFailures = 0;
            // (ejected + 1) / n <= max%: with 2 servers and 50 %, one may go, never both.
            if ((long)(_ejected + 1) * 100 > (long)_maxEjectedPercent * _servers.Length)
            {
                // Logged once per server until an ejection ends: in an outage of every server this would otherwise
                // be a line every `consecutive_failures` requests.
                if (!health.EjectionRefusedLogged)
                {
                    health.EjectionRefusedLogged = true;
                    Log.EjectionRefused(_upstream, server.Display, _maxEjectedPercent);
                }
                return;
            }
            if (health.ReturnedAtMs != 0 && nowMs - health.ReturnedAtMs >= health.LastEjectionMs) health.Ejections = 0;
            health.Ejections++;
            duration = _ejectMs * Math.Min(health.Ejections, MaxMultiplier);
            health.LastEjectionMs = duration;
            health.SetEjectedUntil(nowMs + Math.Max(duration, 1));
            _ejected++;
        }
        Log.ServerEjected(_upstream, server.Display, duration, health.Ejections);
    }

    /// <summary>Brings back servers whose ejection is over. Called by the heartbeat; nothing to do in the usual case.</summary>
    public void Tick(long nowMs)
    {
        if (Volatile.Read(ref _ejected) == 0) return;
        lock (_lock)
        {
            bool returned = false;
            foreach (var server in _servers)
            {
                var health = server.Health;
                long until = health.EjectedUntilMs;
                if (until == 0 || nowMs < until) continue;
                health.ReturnedAtMs = nowMs;
                health.SetEjectedUntil(0);
                _ejected--;
                returned = true;
                Log.ServerReturned(_upstream, server.Display);
            }
            if (!returned) return;
            // Room for an ejection again: a refusal is worth a line once more.
            foreach (var server in _servers) server.Health.EjectionRefusedLogged = false;
        }
    }

    /// <summary>Discovery changed the servers: max_ejected_percent counts the new ones, and the ejections among them.</summary>
    public void SetServers(UpstreamServer[] servers)
    {
        lock (_lock) _servers = servers;
        Recount();
    }

    /// <summary>After a reload copied ejections over from the previous configuration.</summary>
    public void Recount()
    {
        lock (_lock)
        {
            _ejected = 0;
            foreach (var server in _servers) if (server.Health.Ejected) _ejected++;
        }
    }
}
