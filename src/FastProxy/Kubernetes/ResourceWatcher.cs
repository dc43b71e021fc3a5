using System.Net.Http;
using System.Text.Json;
using FastProxy.Diagnostics;
using FastProxy.Ingress;
using FastProxy.Ingress.Model;

namespace FastProxy.Kubernetes;

/// <summary>The cluster state shared by the watchers (under one lock), and a signal when it changed.</summary>
internal sealed class ClusterStore
{
    private readonly Lock _lock = new();
    private readonly ClusterState _state = new();
    private readonly HashSet<string> _synced = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _changed = new(0, 1);

    /// <summary>Every watched kind has been listed once: the state is complete enough to serve.</summary>
    public bool Synced
    {
        get
        {
            lock (_lock) return _synced.Count == ResourceKind.Watched.Length;
        }
    }

    /// <summary>A list: the kind's objects are exactly these.</summary>
    public void Replace(ResourceKind kind, List<KubeObject> items)
    {
        lock (_lock)
        {
            var dictionary = Dictionary(kind);
            dictionary.Clear();
            foreach (var item in items) _state.Put(item);
            _synced.Add(kind.Name);
        }
        Signal();
    }

    public void Apply(string type, KubeObject obj)
    {
        lock (_lock)
        {
            if (type == "DELETED") _state.Remove(obj);
            else _state.Put(obj);
        }
        Signal();
    }

    /// <summary>Asks for a new translation without a change of state (the controller's own configuration changed).</summary>
    public void Poke() => Signal();

    public ClusterState Snapshot()
    {
        lock (_lock) return _state.Snapshot();
    }

    /// <summary>Waits for the next change (changes while nobody waits are remembered as one).</summary>
    public Task WaitAsync(CancellationToken cancel) => _changed.WaitAsync(cancel);

    private void Signal()
    {
        try
        {
            if (_changed.CurrentCount == 0) _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    private System.Collections.IDictionary Dictionary(ResourceKind kind) => kind.Name switch
    {
        "ingressclasses" => _state.IngressClasses,
        "ingresses" => _state.Ingresses,
        "services" => _state.Services,
        "endpointslices" => _state.EndpointSlices,
        _ => _state.Secrets,
    };
}

/// <summary>
/// List, then watch from the list's resourceVersion with bookmarks; a watch the server ends is resumed from the last
/// version seen; 410 Gone (the version is too old) lists again; a failure (API server down) waits a bounded
/// exponential backoff with jitter and tries again, while the proxy goes on serving the last known state.
/// </summary>
internal sealed class ResourceWatcher(KubeApi api, ResourceKind kind, ClusterStore store, WatchTimings timings)
{
    /// <summary>How many times the kind was listed (tests: a 410 lists again).</summary>
    public int Lists { get; private set; }

    public async Task RunAsync(CancellationToken cancel)
    {
        string? version = null;
        var backoff = timings.BackoffMin;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    var (items, listVersion) = await api.ListAsync(kind, cancel);
                    store.Replace(kind, items);
                    Lists++;
                    version = listVersion;
                    Log.IngressWatch(kind.Name, $"listed {items.Count} at resourceVersion {version}");
                }
                await api.WatchAsync(kind, version, timings.WatchTimeoutSeconds, e => version = OnEvent(e) ?? version, cancel);
                backoff = timings.BackoffMin; // a watch that ran and ended normally: resume at once
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
            catch (KubeApiException e) when (e.Status == System.Net.HttpStatusCode.Gone)
            {
                Log.IngressWatch(kind.Name, "resourceVersion too old (410 Gone): listing again");
                version = null;
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                long wait = (long)(backoff.TotalMilliseconds * (0.8 + Random.Shared.NextDouble() * 0.4));
                Log.IngressWatchFailed(kind.Name, e.Message, wait);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), cancel);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = TimeSpan.FromMilliseconds(Math.Min(backoff.TotalMilliseconds * 2, timings.BackoffMax.TotalMilliseconds));
            }
        }
    }

    /// <summary>Applies one event; returns the resourceVersion it carries.</summary>
    private string? OnEvent(WatchEvent e)
    {
        if (e.Type == "BOOKMARK")
        {
            return e.Object.Deserialize(KubernetesJson.Default.KubeObjectHeader)?.Metadata.ResourceVersion;
        }
        if (e.Type is not ("ADDED" or "MODIFIED" or "DELETED")) return null;
        var obj = kind.Read(e.Object);
        if (obj is null) return null;
        store.Apply(e.Type, obj);
        return obj.Metadata.ResourceVersion;
    }
}

/// <summary>The watch loop's times (short ones in tests).</summary>
internal sealed class WatchTimings
{
    public TimeSpan BackoffMin { get; init; } = TimeSpan.FromMilliseconds(250);
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>timeoutSeconds asked of each watch: the server ends it then and it is resumed.</summary>
    public int WatchTimeoutSeconds { get; init; } = 300;
    /// <summary>How long changes are gathered before one translation and reload.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);
}
