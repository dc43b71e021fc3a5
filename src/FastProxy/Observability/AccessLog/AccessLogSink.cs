using FastProxy.Configuration;
using FastProxy.Diagnostics;

namespace FastProxy.Observability.AccessLog;

/// <summary>
/// The access log for the whole process, across reloads: holds the current writer (null when [access_log] is off,
/// which is the whole cost of the feature then: one null check per request). A reload that changes the output
/// (path, format, sizes) starts a new writer and lets the old one write out its queue and close; one that changes
/// only the policies swaps the names to redact. SIGUSR1 reopens the file.
/// </summary>
internal sealed class AccessLogSink
{
    private readonly Lock _lock = new();
    private readonly ObservabilityHub _hub;
    private readonly AccessLogObserver _observer;
    private volatile AccessLogWriter? _writer;

    public AccessLogSink(ObservabilityHub hub)
    {
        _hub = hub;
        _observer = new AccessLogObserver(this);
        // Always there (0 while the log is off), so an alert on drops never sees an absent series. Registering again
        // (another host in the same process) replaces the reader with the same one.
        Metrics.ExternalMetrics.AddCounter("fastproxy_access_log_lines_total", "Access log lines written.",
            static () => AccessLogCounters.Lines);
        Metrics.ExternalMetrics.AddCounter("fastproxy_access_log_dropped_total",
            "Access log lines dropped: the queue was full (the request was served regardless), or the output failed.",
            static () => AccessLogCounters.Dropped);
    }

    /// <summary>The writer requests write to; null: no access log.</summary>
    public AccessLogWriter? Writer => _writer;

    /// <summary>At start: the file cannot be opened is a start failure (file:line:col: access_log.path: ...).</summary>
    public void Start(ProxyConfig config)
    {
        if (!config.AccessLog.Enabled) return;
        try
        {
            StartWriter(config);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AccessLogOpenException($"{config.AccessLog.Location}: access_log.path: cannot open {config.AccessLog.Path}: {ex.Message}");
        }
    }

    /// <summary>
    /// On reload, after the new configuration is committed. A file that cannot be opened keeps the old writer (said
    /// in the log): the reload of everything else still takes effect.
    /// </summary>
    public void Apply(ProxyConfig config)
    {
        lock (_lock)
        {
            var current = _writer;
            var next = config.AccessLog;
            if (current is not null && SameOutput(current.Config, next))
            {
                current.Redaction = RedactionFor(config);
                return;
            }
            if (!next.Enabled)
            {
                _hub.Remove(_observer);
                _writer = null;
                current?.Stop(TimeSpan.FromSeconds(2));
                return;
            }
            try
            {
                StartWriter(config);
                current?.Stop(TimeSpan.FromSeconds(2));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Log.AccessLogOpenFailed(next.Path!, ex.Message);
            }
        }
    }

    private void StartWriter(ProxyConfig config)
    {
        var writer = AccessLogWriter.Start(config.AccessLog, RedactionFor(config));
        _writer = writer;
        _hub.Add(_observer);
        Log.AccessLogOpened(config.AccessLog.Path!, writer.Formatter.Name);
    }

    /// <summary>SIGUSR1.</summary>
    public void Reopen() => _writer?.Reopen();

    /// <summary>At stop, after the requests have finished: what is queued is written.</summary>
    public void Stop()
    {
        lock (_lock)
        {
            var writer = _writer;
            _hub.Remove(_observer);
            _writer = null;
            writer?.Stop(TimeSpan.FromSeconds(5));
        }
    }

    private static bool SameOutput(AccessLogConfig a, AccessLogConfig b) =>
        a.Path == b.Path && a.Format == b.Format && a.Buffer == b.Buffer && a.Queue == b.Queue && a.FlushInterval == b.FlushInterval;

    /// <summary>Every query parameter a policy reads a credential from, and those [access_log] redact_query names.</summary>
    internal static QueryRedaction RedactionFor(ProxyConfig config)
    {
        var names = new List<string>(config.AccessLog.RedactQuery);
        foreach (var policy in config.Policies)
        {
            switch (policy.Options)
            {
                case ApiKeyOptions { Query: { } query }:
                    names.Add(query);
                    break;
                case JwtOptions jwt:
                    foreach (var source in jwt.From)
                    {
                        if (source.Kind == JwtTokenSourceKind.Query) names.Add(source.Name);
                    }
                    break;
            }
        }
        return names.Count == 0 ? QueryRedaction.None : new QueryRedaction(names);
    }
}

/// <summary>[access_log] path cannot be opened at start.</summary>
internal sealed class AccessLogOpenException(string message) : Exception(message);
