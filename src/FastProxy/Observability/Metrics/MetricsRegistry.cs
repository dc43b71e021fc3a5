using FastProxy.Hosting;
using FastProxy.Routing;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// The Prometheus metrics of one running proxy (ProxyServices.Metrics). Label sets are compiled when a configuration
/// is bound (<see cref="Bind"/>, at start and at each reload's commit): every (listener, route, upstream), listener,
/// upstream and declared consumer gets its series object, found again by name at the next reload so its counts carry
/// on, and the request path reaches it through a reference on the route, listener or upstream (no lookup per
/// request). Series of names a reload removed stay in memory (a route put back resumes its counts) but are no longer
/// exported. Recording is on only while an [admin] listener is configured: without one nothing could scrape, and the
/// request path then does no metrics work at all (no observer is registered, no series is bound).
/// </summary>
internal sealed partial class MetricsRegistry : IRequestObserver
{
    private readonly ObservabilityHub _hub;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Listener, string Route, string Upstream), RequestSeries> _requests = [];
    private readonly Dictionary<string, ListenerSeries> _listeners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UpstreamSeries> _upstreams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConsumerSeries> _consumers = new(StringComparer.Ordinal);

    /// <summary>What the current configuration exports (replaced whole at each bind).</summary>
    private volatile Generation _current = Generation.Empty;

    /// <summary>Per-consumer series of the current configuration, by consumer name; null when per_consumer is off.</summary>
    private volatile Dictionary<string, ConsumerSeries>? _perConsumer;

    private long _reloadsOk, _reloadsRefused, _lastOkUnixMs, _lastRefusedUnixMs;

    public MetricsRegistry(ObservabilityHub hub) => _hub = hub;

    /// <summary>Metrics are being recorded (an [admin] listener is configured).</summary>
    public bool Enabled => _current.Enabled;

    private sealed record Generation(bool Enabled, RequestSeries[] Requests, ListenerSeries[] Listeners, UpstreamSeries[] Upstreams,
        ConsumerSeries[] Consumers)
    {
        public static readonly Generation Empty = new(false, [], [], [], []);
    }

    /// <summary>
    /// Compiles the label sets of <paramref name="runtime"/> and points its routes, listeners and upstreams at their
    /// series, before it serves (so the first request on it is counted). Called under the host's reload lock.
    /// </summary>
    public void Bind(ProxyRuntime runtime)
    {
        var config = runtime.Config;
        if (config.Admin is null)
        {
            _hub.Remove(this);
            _perConsumer = null;
            _current = Generation.Empty;
            return;
        }
        lock (_lock)
        {
            var requests = new List<RequestSeries>();
            var listeners = new List<ListenerSeries>();
            foreach (var listenerConfig in config.Listeners)
            {
                var series = ListenerFor(listenerConfig.Name);
                listeners.Add(series);
                if (runtime.Listeners.TryGetValue(listenerConfig.Name, out var http))
                {
                    http.Metrics = series;
                    http.UnroutedMetrics = RequestsFor(listenerConfig.Name, "", "");
                    requests.Add(http.UnroutedMetrics);
                    foreach (var route in http.Router.Routes)
                    {
                        route.Metrics = RequestsFor(listenerConfig.Name, route.Name, route.Upstream?.Name ?? "");
                        requests.Add(route.Metrics);
                        foreach (var alternate in route.Alternates)
                        {
                            // The same route forwarding to an upstream a policy picked (version).
                            alternate.Metrics = RequestsFor(listenerConfig.Name, alternate.Name, alternate.Upstream?.Name ?? "");
                            if (!requests.Contains(alternate.Metrics)) requests.Add(alternate.Metrics);
                        }
                    }
                }
                else if (runtime.TcpListeners.TryGetValue(listenerConfig.Name, out var tcp))
                {
                    tcp.Metrics = series;
                }
            }
            var upstreams = new List<UpstreamSeries>();
            foreach (var upstreamConfig in config.Upstreams)
            {
                if (!runtime.Upstreams.TryGetValue(upstreamConfig.Name, out var upstream)) continue;
                if (!_upstreams.TryGetValue(upstream.Name, out var series)) _upstreams[upstream.Name] = series = new UpstreamSeries(upstream.Name);
                upstream.Metrics = series;
                upstreams.Add(series);
            }
            var consumers = new List<ConsumerSeries>();
            Dictionary<string, ConsumerSeries>? perConsumer = null;
            if (config.Metrics.PerConsumer)
            {
                perConsumer = new Dictionary<string, ConsumerSeries>(StringComparer.Ordinal);
                foreach (var consumer in config.Consumers)
                {
                    if (!_consumers.TryGetValue(consumer.Name, out var series)) _consumers[consumer.Name] = series = new ConsumerSeries(consumer.Name);
                    perConsumer[consumer.Name] = series;
                    consumers.Add(series);
                }
            }
            _perConsumer = perConsumer;
            _current = new Generation(true, [.. requests], [.. listeners], [.. upstreams], [.. consumers]);
        }
        _hub.Add(this);
    }

    private ListenerSeries ListenerFor(string name)
    {
        if (!_listeners.TryGetValue(name, out var series)) _listeners[name] = series = new ListenerSeries(name);
        return series;
    }

    private RequestSeries RequestsFor(string listener, string route, string upstream)
    {
        var key = (listener, route, upstream);
        if (!_requests.TryGetValue(key, out var series)) _requests[key] = series = new RequestSeries(listener, route, upstream);
        return series;
    }

    /// <summary>A reload's outcome (ProxyHost.Reload, and the binary's SIGHUP handler for a file that did not load).</summary>
    public void ReloadFinished(bool ok)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (ok)
        {
            Interlocked.Increment(ref _reloadsOk);
            Volatile.Write(ref _lastOkUnixMs, now);
        }
        else
        {
            Interlocked.Increment(ref _reloadsRefused);
            Volatile.Write(ref _lastRefusedUnixMs, now);
        }
    }

    bool IRequestObserver.WantsText => false;

    /// <summary>
    /// Counts a finished request: a few interlocked adds on the calling CPU's stripe of the series the route (or the
    /// listener, when no route matched) points at. No lock, no allocation, no lookup by name (except the consumer's
    /// series with per_consumer, a dictionary read).
    /// </summary>
    public void OnRequestComplete(RequestRecord record)
    {
        var listenerRuntime = record.Listener;
        var listener = listenerRuntime.Metrics;
        if (listener is null) return; // served by a generation bound before metrics were on
        var series = record.Route is { } route ? route.Metrics : listenerRuntime.UnroutedMetrics;
        var cells = listener.Cells;
        int stripe = cells.Stripe;
        cells.Add(stripe, ListenerSeries.BytesIn, record.BytesIn);
        cells.Add(stripe, ListenerSeries.BytesOut, record.BytesOut);
        int status = record.Status;
        int statusClass = status / 100;
        bool answered = statusClass is >= 1 and <= 5;
        if (!answered) cells.Increment(stripe, ListenerSeries.Unanswered);
        else series?.Count(record.Method, statusClass, record.EndTimestamp - record.StartTimestamp);

        if (record.Upstream?.Metrics is { } upstream)
        {
            var upstreamCells = upstream.Cells;
            int upstreamStripe = upstreamCells.Stripe;
            if (record.UpstreamHeadTimestamp != 0 && record.UpstreamSentTimestamp != 0)
                Histogram.Record(upstreamCells, upstreamStripe, 0, record.UpstreamHeadTimestamp - record.UpstreamSentTimestamp);
            if (record.Retries > 0) upstreamCells.Add(upstreamStripe, UpstreamSeries.Retries, record.Retries);
            var flags = record.Flags;
            if ((flags & RequestFlags.RetryBudgetExhausted) != 0) upstreamCells.Increment(upstreamStripe, UpstreamSeries.BudgetExhausted);
            if ((flags & RequestFlags.CircuitOpen) != 0) upstreamCells.Increment(upstreamStripe, UpstreamSeries.CircuitRejections);
        }

        if (_perConsumer is { } consumers && record.Consumer is { } consumer && consumers.TryGetValue(consumer.Name, out var consumerSeries))
        {
            if (answered) consumerSeries.Requests.Increment(statusClass - 1);
            if (record.AnsweredBy is { } answeredBy && status >= 400 && (record.Flags & RequestFlags.PolicyAnswer) != 0) consumerSeries.Rejected(answeredBy.Policy);
        }
    }
}
