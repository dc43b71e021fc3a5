using System.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Observability.Metrics;

/// <summary>/metrics: every family, folded from the stripes at scrape time, in the order of /work's agreed names.</summary>
internal sealed partial class MetricsRegistry
{
    private static readonly double s_processStart = ProcessStartSeconds();

    private readonly Lock _scrapeLock = new();
    private readonly PrometheusText _text = new();
    private long[] _folded = new long[64];

    private static double ProcessStartSeconds()
    {
        using var process = Process.GetCurrentProcess();
        return new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
    }

    /// <summary>The exposition text for a scrape (UTF-8); <paramref name="runtime"/> is the generation serving now.</summary>
    public byte[] Scrape(ProxyRuntime runtime)
    {
        lock (_scrapeLock)
        {
            _text.Clear();
            Write(_text, runtime);
            return _text.ToUtf8();
        }
    }

    private Span<long> Fold(StripedCells cells)
    {
        if (_folded.Length < cells.Width) _folded = new long[cells.Width];
        var span = _folded.AsSpan(0, cells.Width);
        cells.Fold(span);
        return span;
    }

    private void Write(PrometheusText w, ProxyRuntime runtime)
    {
        var g = _current;

        w.Family("fastproxy_build_info", "FastProxy's version (the value is always 1).", "gauge");
        w.Sample("fastproxy_build_info").Label("version", Program.Version).Value(1);
        w.Family("fastproxy_process_start_time_seconds", "When the process started, in seconds since the Unix epoch.", "gauge");
        w.Sample("fastproxy_process_start_time_seconds").Value(s_processStart);

        WriteRequests(w, g);
        WriteListeners(w, g);
        WriteUpstreams(w, g, runtime);
        WritePolicies(w);
        CacheMetrics.Write(w);
        WriteReloads(w);
        WriteConsumers(w, g);
        WriteExternal(w);
    }

    private void WriteRequests(PrometheusText w, Generation g)
    {
        w.Family("fastproxy_requests_total", "Requests answered, by listener, route, upstream, method and status class (route and upstream empty when none).", "counter");
        foreach (var s in g.Requests)
        {
            var cells = Fold(s.Cells);
            for (int m = 0; m < RequestSeries.Methods; m++)
            {
                for (int c = 0; c < RequestSeries.Classes; c++)
                {
                    long n = cells[m * RequestSeries.Classes + c];
                    // A series appears once it has counted something: a zero for every method x class of every route
                    // would be most of the scrape, and rate() treats a new series from its first sample the same.
                    if (n == 0) continue;
                    w.Sample("fastproxy_requests_total").Label("listener", s.Listener).Label("route", s.Route).Label("upstream", s.Upstream)
                        .Label("method", RequestSeries.MethodLabels[m]).Label("code", RequestSeries.ClassLabels[c]).Value(n);
                }
            }
        }
        w.Family("fastproxy_request_duration_seconds", "Time from a request's first byte to the end of its response, by listener and route.", "histogram");
        // Routes of one listener with several upstreams (only the route name is a label) are one series each already.
        foreach (var s in g.Requests)
        {
            var cells = Fold(s.Cells);
            w.Histogram("fastproxy_request_duration_seconds", cells[RequestSeries.DurationCell..], t => t.Label("listener", s.Listener).Label("route", s.Route));
        }
    }

    private void WriteListeners(PrometheusText w, Generation g)
    {
        var folded = new long[g.Listeners.Length][];
        for (int i = 0; i < folded.Length; i++) folded[i] = Fold(g.Listeners[i].Cells).ToArray();

        w.Family("fastproxy_request_bytes_total", "Request bytes received (head and body), by listener.", "counter");
        for (int i = 0; i < folded.Length; i++) w.Sample("fastproxy_request_bytes_total").Label("listener", g.Listeners[i].Name).Value(folded[i][ListenerSeries.BytesIn]);
        w.Family("fastproxy_response_bytes_total", "Response bytes sent (head and body), by listener.", "counter");
        for (int i = 0; i < folded.Length; i++) w.Sample("fastproxy_response_bytes_total").Label("listener", g.Listeners[i].Name).Value(folded[i][ListenerSeries.BytesOut]);
        w.Family("fastproxy_requests_unanswered_total", "Requests that ended with no response sent (the client went away first), by listener.", "counter");
        for (int i = 0; i < folded.Length; i++) w.Sample("fastproxy_requests_unanswered_total").Label("listener", g.Listeners[i].Name).Value(folded[i][ListenerSeries.Unanswered]);

        w.Family("fastproxy_open_connections", "Client connections open now, by listener, protocol (http1, h2, tcp) and TLS.", "gauge");
        for (int i = 0; i < folded.Length; i++) WriteConnections(w, g.Listeners[i].Name, folded[i], open: true);
        w.Family("fastproxy_connections_total", "Client connections accepted, by listener, protocol (http1, h2, tcp) and TLS.", "counter");
        for (int i = 0; i < folded.Length; i++) WriteConnections(w, g.Listeners[i].Name, folded[i], open: false);

        w.Family("fastproxy_tls_handshakes_total", "TLS handshakes completed on client connections, by listener.", "counter");
        for (int i = 0; i < folded.Length; i++)
        {
            long n = folded[i][ListenerSeries.TlsHandshakes];
            if (n > 0 || g.Listeners[i].TlsFailures.Count > 0) w.Sample("fastproxy_tls_handshakes_total").Label("listener", g.Listeners[i].Name).Value(n);
        }
        w.Family("fastproxy_tls_handshake_failures_total", "TLS handshakes that failed on client connections, by listener and reason.", "counter");
        foreach (var listener in g.Listeners)
        {
            foreach (var (reason, count) in listener.TlsFailures.OrderBy(p => p.Key, StringComparer.Ordinal))
                w.Sample("fastproxy_tls_handshake_failures_total").Label("listener", listener.Name).Label("reason", reason).Value(Volatile.Read(ref count.Value));
        }
    }

    private static void WriteConnections(PrometheusText w, string listener, long[] folded, bool open)
    {
        string name = open ? "fastproxy_open_connections" : "fastproxy_connections_total";
        for (int p = 0; p < 3; p++)
        {
            for (int t = 0; t < 2; t++)
            {
                var (total, now) = ListenerSeries.Connections(folded, (ConnectionProtocol)p, t == 1);
                if (total == 0) continue;
                w.Sample(name).Label("listener", listener).Label("protocol", ListenerSeries.ProtocolLabels[p]).Label("tls", t == 1 ? "true" : "false")
                    .Value(open ? now : total);
            }
        }
    }

    private void WriteUpstreams(PrometheusText w, Generation g, ProxyRuntime runtime)
    {
        w.Family("fastproxy_upstream_response_seconds", "Time from a request sent to an upstream server to its response head received, by upstream.", "histogram");
        foreach (var s in g.Upstreams)
        {
            var cells = Fold(s.Cells);
            w.Histogram("fastproxy_upstream_response_seconds", cells, t => t.Label("upstream", s.Name));
        }
        w.Family("fastproxy_retries_total", "Requests sent again to another server ([upstreams.NAME.retry]), by upstream.", "counter");
        foreach (var s in g.Upstreams) w.Sample("fastproxy_retries_total").Label("upstream", s.Name).Value(s.Cells.Sum(UpstreamSeries.Retries));
        w.Family("fastproxy_retry_budget_exhausted_total", "Retries refused because the upstream's retry budget (budget_percent) was spent, by upstream.", "counter");
        foreach (var s in g.Upstreams) w.Sample("fastproxy_retry_budget_exhausted_total").Label("upstream", s.Name).Value(s.Cells.Sum(UpstreamSeries.BudgetExhausted));
        w.Family("fastproxy_circuit_breaker_rejections_total", "Requests answered 503 at once because the upstream's max_requests or max_pending was reached, by upstream.", "counter");
        foreach (var s in g.Upstreams) w.Sample("fastproxy_circuit_breaker_rejections_total").Label("upstream", s.Name).Value(s.Cells.Sum(UpstreamSeries.CircuitRejections));

        var upstreams = runtime.Config.Upstreams;
        w.Family("fastproxy_upstream_server_up", "1 when the server takes traffic; 0 when active checks find it down, outlier detection ejected it, or it is drained.", "gauge");
        foreach (var config in upstreams)
        {
            if (!runtime.Upstreams.TryGetValue(config.Name, out var upstream)) continue;
            foreach (var server in upstream.Servers)
                w.Sample("fastproxy_upstream_server_up").Label("upstream", upstream.Name).Label("server", server.Address).Value(server.State.IsAvailable ? 1 : 0);
        }
        w.Family("fastproxy_upstream_server_info", "Always 1: the server entry as written (declared: a host name and port, or the address itself) that each server address comes from.", "gauge");
        foreach (var config in upstreams)
        {
            if (!runtime.Upstreams.TryGetValue(config.Name, out var upstream)) continue;
            foreach (var server in upstream.Servers)
                w.Sample("fastproxy_upstream_server_info").Label("upstream", upstream.Name).Label("server", server.Address).Label("declared", server.Declared).Value(1);
        }
        w.Family("fastproxy_upstream_server_ejections_total", "Times outlier detection ejected the server (kept across reloads).", "counter");
        foreach (var config in upstreams)
        {
            if (!runtime.Upstreams.TryGetValue(config.Name, out var upstream)) continue;
            foreach (var server in upstream.Servers)
                w.Sample("fastproxy_upstream_server_ejections_total").Label("upstream", upstream.Name).Label("server", server.Address).Value(server.Health.Ejections);
        }
        w.Family("fastproxy_upstream_server_active_requests", "Requests in flight to the server now.", "gauge");
        foreach (var config in upstreams)
        {
            if (!runtime.Upstreams.TryGetValue(config.Name, out var upstream)) continue;
            foreach (var server in upstream.Servers)
                w.Sample("fastproxy_upstream_server_active_requests").Label("upstream", upstream.Name).Label("server", server.Address).Value(server.State.InFlight);
        }
    }

    private static void WritePolicies(PrometheusText w)
    {
        w.Family("fastproxy_policy_rejections_total", "Answers gateway policies gave instead of forwarding, by policy, type and reason.", "counter");
        foreach (var counter in RejectionCounter.All())
            w.Sample("fastproxy_policy_rejections_total").Label("policy", counter.Policy).Label("type", counter.Type).Label("reason", counter.Reason).Value(counter.Count);
    }

    private void WriteReloads(PrometheusText w)
    {
        w.Family("fastproxy_config_reloads_total", "Configuration reloads, by outcome (ok, or refused: the old configuration kept serving).", "counter");
        w.Sample("fastproxy_config_reloads_total").Label("outcome", "ok").Value(Interlocked.Read(ref _reloadsOk));
        w.Sample("fastproxy_config_reloads_total").Label("outcome", "refused").Value(Interlocked.Read(ref _reloadsRefused));
        w.Family("fastproxy_config_last_reload_timestamp_seconds", "When the last reload with this outcome happened, in seconds since the Unix epoch (absent: none yet).", "gauge");
        long ok = Volatile.Read(ref _lastOkUnixMs), refused = Volatile.Read(ref _lastRefusedUnixMs);
        if (ok != 0) w.Sample("fastproxy_config_last_reload_timestamp_seconds").Label("outcome", "ok").Value(ok / 1000.0);
        if (refused != 0) w.Sample("fastproxy_config_last_reload_timestamp_seconds").Label("outcome", "refused").Value(refused / 1000.0);
    }

    private void WriteConsumers(PrometheusText w, Generation g)
    {
        if (g.Consumers.Length == 0) return;
        w.Family("fastproxy_consumer_requests_total", "Requests by declared consumer and status class ([metrics] per_consumer).", "counter");
        foreach (var s in g.Consumers)
        {
            var cells = Fold(s.Requests);
            for (int c = 0; c < RequestSeries.Classes; c++)
            {
                if (cells[c] == 0) continue;
                w.Sample("fastproxy_consumer_requests_total").Label("consumer", s.Name).Label("code", RequestSeries.ClassLabels[c]).Value(cells[c]);
            }
        }
        w.Family("fastproxy_consumer_rejections_total", "Requests of a declared consumer refused by a policy (status 400 and above), by consumer and policy ([metrics] per_consumer).", "counter");
        foreach (var s in g.Consumers)
        {
            foreach (var (policy, count) in s.Rejections.OrderBy(p => p.Key, StringComparer.Ordinal))
                w.Sample("fastproxy_consumer_rejections_total").Label("consumer", s.Name).Label("policy", policy).Value(Volatile.Read(ref count.Value));
        }
    }

    private static void WriteExternal(PrometheusText w)
    {
        string? family = null;
        foreach (var entry in ExternalMetrics.Snapshot())
        {
            double value;
            try
            {
                value = entry.Read();
            }
            catch (Exception ex)
            {
                Diagnostics.Log.MetricReadFailed(entry.Name, ex);
                continue;
            }
            if (entry.Name != family)
            {
                family = entry.Name;
                w.Family(entry.Name, entry.Help, entry.Type);
            }
            w.Sample(entry.Name);
            foreach (var (name, labelValue) in entry.Labels) w.Label(name, labelValue);
            w.Value(value);
        }
    }
}
