using System.Net.Http;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Ingress;
using FastProxy.Ingress.Model;

namespace FastProxy.Kubernetes;

/// <summary>
/// `fastproxy ingress`: watches the cluster (<see cref="ResourceWatcher"/>), and once every kind is listed, translates
/// the state (<see cref="IngressTranslator"/>) and applies it to the running proxy like a SIGHUP reload
/// (<see cref="ProxyHost.Reload"/>: listeners keep their sockets, requests in flight finish on the generation they
/// started with). Changes are gathered for <see cref="WatchTimings.Debounce"/>, and a translation equal to the one
/// serving is not applied (a reload would send HTTP/2 clients a GOAWAY for nothing).
/// </summary>
internal sealed class IngressController : IAsyncDisposable
{
    private readonly KubeApi _api;
    private readonly ProxyHost _host;
    private readonly IngressTranslator _translator;
    private readonly SecretFiles _files;
    private readonly WatchTimings _timings;
    private readonly ClusterStore _store = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly HashSet<string> _reported = new(StringComparer.Ordinal);
    private readonly StatusPublisher? _status;
    private ProxyConfig _baseConfig;
    private string? _servingFingerprint;
    private TranslationResult? _serving;

    public IngressController(KubeApi api, ProxyHost host, ProxyConfig baseConfig, IngressOptions options, WatchTimings timings, StatusPublisher? status = null)
    {
        _api = api;
        _host = host;
        _baseConfig = baseConfig;
        _timings = timings;
        _files = new SecretFiles(options.StateDirectory);
        _translator = new IngressTranslator(options, _files);
        _status = status;
        Watchers = [.. ResourceKind.Watched.Select(kind => new ResourceWatcher(api, kind, _store, timings))];
    }

    public IReadOnlyList<ResourceWatcher> Watchers { get; }

    /// <summary>How many translations were applied (tests wait on it).</summary>
    public int Applied { get; private set; }

    /// <summary>What is serving now; null before the first apply.</summary>
    public TranslationResult? Serving => Volatile.Read(ref _serving);

    public void Start()
    {
        foreach (var watcher in Watchers) _tasks.Add(Task.Run(() => watcher.RunAsync(_stop.Token)));
        _tasks.Add(Task.Run(ApplyLoopAsync));
        if (_status is not null) _tasks.Add(Task.Run(() => _status.RunAsync(() => Serving, _store, _stop.Token)));
    }

    /// <summary>SIGHUP: the controller's own proxy.toml changed; applied with the Ingresses on top.</summary>
    public void ReloadBase(ProxyConfig baseConfig)
    {
        Volatile.Write(ref _baseConfig, baseConfig);
        _servingFingerprint = null;
        _store.Poke();
    }

    private async Task ApplyLoopAsync()
    {
        var cancel = _stop.Token;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                await _store.WaitAsync(cancel);
                // Gather what comes with it (an endpoint change is often several slices and objects at once).
                await Task.Delay(_timings.Debounce, cancel);
                if (!_store.Synced) continue;
                ApplyOnce();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                // Never let one bad round stop the controller: the last applied configuration keeps serving.
                Log.IngressApplyFailed(e.ToString());
            }
        }
    }

    private void ApplyOnce()
    {
        var result = _translator.Translate(_store.Snapshot(), Volatile.Read(ref _baseConfig));
        Report(result.Problems);
        var fingerprint = Fingerprint(result.Config);
        if (fingerprint == _servingFingerprint) return;
        try
        {
            _host.Reload(result.Config);
        }
        catch (Exception e) when (e is ProxyStartException or Transport.ListenerBindException)
        {
            Log.IngressApplyFailed(e.Message);
            return;
        }
        _servingFingerprint = fingerprint;
        Volatile.Write(ref _serving, result);
        Applied++;
        _files.Sweep();
        int servers = 0;
        foreach (var upstream in result.Config.Upstreams) servers += upstream.Servers.Count;
        Log.IngressApplied(result.ServedIngresses.Count, result.Config.Routes.Count, result.Config.Upstreams.Count, servers);
        _status?.Changed();
    }

    /// <summary>Each problem is logged and put as a Warning Event on its Ingress once (again only after it went away).</summary>
    private void Report(IReadOnlyList<IngressProblem> problems)
    {
        var now = new HashSet<string>(StringComparer.Ordinal);
        foreach (var problem in problems)
        {
            var key = $"{problem.IngressKey}\n{problem.Reason}\n{problem.Message}";
            now.Add(key);
            if (_reported.Contains(key)) continue;
            Log.IngressProblem(problem.IngressKey, problem.Reason, problem.Message);
            _ = PostEventAsync(problem);
        }
        _reported.Clear();
        _reported.UnionWith(now);
    }

    private async Task PostEventAsync(IngressProblem problem)
    {
        var parts = problem.IngressKey.Split('/', 2);
        var now = DateTimeOffset.UtcNow;
        var ev = new Event
        {
            ApiVersion = "v1",
            Kind = "Event",
            Metadata = new ObjectMeta { GenerateName = parts[1] + ".", Namespace = parts[0] },
            InvolvedObject = new ObjectReference { ApiVersion = "networking.k8s.io/v1", Kind = "Ingress", Namespace = parts[0], Name = parts[1], Uid = problem.Uid },
            Reason = problem.Reason,
            Message = (problem.Skipped ? "not served: " : "") + problem.Message,
            Type = "Warning",
            Source = new EventSource { Component = "fastproxy-ingress" },
            ReportingComponent = "fastproxy.io/ingress-controller",
            FirstTimestamp = now,
            LastTimestamp = now,
            Count = 1,
        };
        try
        {
            await _api.SendAsync(HttpMethod.Post, $"/api/v1/namespaces/{parts[0]}/events", ev, KubernetesJson.Default.Event, _stop.Token);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or OperationCanceledException or System.Text.Json.JsonException)
        {
            Log.IngressApiFailed($"event on {problem.IngressKey}", e.Message);
        }
    }

    /// <summary>What decides routing in a translated configuration; equal fingerprints serve the same.</summary>
    internal static string Fingerprint(ProxyConfig config)
    {
        var text = new StringBuilder();
        foreach (var listener in config.Listeners)
        {
            text.Append("L ").Append(listener.Name);
            foreach (var tls in listener.Tls) text.Append(' ').Append(tls.Cert).Append(' ').Append(tls.Key).Append(' ').Append(tls.Sni is null ? "" : string.Join(',', tls.Sni));
            text.Append('\n');
        }
        foreach (var route in config.Routes)
        {
            var m = route.Match;
            text.Append("R ").Append(route.Name).Append(' ').Append(m.Host).Append(' ').Append(m.Path).Append(' ').Append(m.PathPrefix)
                .Append(' ').Append(route.Upstream).Append(' ').Append(string.Join(',', route.Policies)).Append('\n');
        }
        foreach (var upstream in config.Upstreams)
        {
            text.Append("U ").Append(upstream.Name).Append(' ').Append(upstream.Protocol).Append(' ').Append(upstream.Tls);
            foreach (var server in upstream.Servers) text.Append(' ').Append(server.Address);
            text.Append('\n');
        }
        foreach (var policy in config.Policies) text.Append("P ").Append(policy.Name).Append(' ').Append(PolicySignature(policy.Options)).Append('\n');
        return text.ToString();
    }

    /// <summary>The options of policies built from annotations, as text (rate, origins, htpasswd file, rewrite).</summary>
    private static string PolicySignature(PolicyOptions? options) => options switch
    {
        RateLimitOptions r => r.Rate.ToString(),
        CorsOptions c => string.Join(',', c.Origins) + c.AnyOrigin,
        BasicAuthOptions b => (b.Htpasswd ?? "") + b.Realm,
        RewriteOptions w => (w.Pattern?.ToString() ?? "") + " " + w.Replacement,
        _ => "",
    };

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_tasks).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // Stopping.
        }
        _stop.Dispose();
    }
}
