using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastProxy.Ingress.Yaml;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FastProxy.Tests.Ingress;

/// <summary>
/// A small Kubernetes API server stand-in on loopback speaking the real list/watch protocol: lists with
/// metadata.resourceVersion, watches (?watch=1&amp;resourceVersion=N&amp;allowWatchBookmarks=true) as chunked
/// newline-delimited JSON events (ADDED, MODIFIED, DELETED, BOOKMARK, and ERROR with a 410 Status once the history
/// a version needs is compacted), Leases with optimistic concurrency (409 on a stale resourceVersion), Ingress status
/// merge patches and Events. The test changes objects while controllers watch, drops watches, compacts, and takes
/// the whole server "down" (503).
/// </summary>
internal sealed class FakeKubeApi : IAsyncDisposable
{
    private static readonly Dictionary<string, string> Paths = new()
    {
        ["/apis/networking.k8s.io/v1/ingressclasses"] = "IngressClass",
        ["/apis/networking.k8s.io/v1/ingresses"] = "Ingress",
        ["/api/v1/services"] = "Service",
        ["/apis/discovery.k8s.io/v1/endpointslices"] = "EndpointSlice",
        ["/api/v1/secrets"] = "Secret",
    };

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, JsonObject>> _objects = [];
    private readonly List<(long Version, string Kind, string Type, string Json)> _history = [];
    private readonly Dictionary<string, JsonObject> _leases = [];
    private long _version = 100;
    private long _compactedBefore;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource _dropWatches = new();
    private readonly WebApplication _app;

    public List<(string Path, string Body)> StatusPatches { get; } = [];
    public List<JsonObject> Events { get; } = [];
    public int WatchRequests;
    public int ListRequests;
    public int GoneSent;

    /// <summary>While true every request gets 503 and open watches end.</summary>
    public bool Down { get; set; }

    public Uri Url { get; private set; } = null!;

    private FakeKubeApi(WebApplication app) => _app = app;

    public static async Task<FakeKubeApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var api = new FakeKubeApi(app);
        app.Run(api.HandleAsync);
        await app.StartAsync();
        var address = app.Urls.First();
        api.Url = new Uri(address);
        return api;
    }

    /// <summary>Adds every object of a YAML manifest (Lists flattened).</summary>
    public void Load(string yaml, Action<JsonObject>? change = null)
    {
        foreach (var json in KubeYaml.ToJson(yaml))
        {
            var node = JsonNode.Parse(json)!.AsObject();
            if (node["kind"]?.GetValue<string>() == "List")
            {
                foreach (var item in node["items"]!.AsArray()) Put(item!.DeepClone().AsObject(), change);
            }
            else Put(node, change);
        }
    }

    /// <summary>Adds or replaces an object (ADDED or MODIFIED to watchers).</summary>
    public void Put(JsonObject obj, Action<JsonObject>? change = null)
    {
        change?.Invoke(obj);
        var kind = obj["kind"]!.GetValue<string>();
        if (!Paths.ContainsValue(kind)) return;
        var key = Key(obj);
        lock (_lock)
        {
            var version = ++_version;
            obj["metadata"]!["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            obj["metadata"]!["uid"] ??= Guid.NewGuid().ToString();
            var kindObjects = KindObjects(kind);
            var type = kindObjects.ContainsKey(key) ? "MODIFIED" : "ADDED";
            kindObjects[key] = obj;
            Record(version, kind, type, obj);
        }
    }

    public void Delete(string kind, string key)
    {
        lock (_lock)
        {
            if (!KindObjects(kind).Remove(key, out var obj)) return;
            var version = ++_version;
            obj["metadata"]!["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Record(version, kind, "DELETED", obj);
        }
    }

    public JsonObject Get(string kind, string key)
    {
        lock (_lock) return KindObjects(kind)[key].DeepClone().AsObject();
    }

    /// <summary>Forgets the event history: a watch from any version seen so far gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            // Versions up to now are gone; the next version is new, so a list from here gives one that can be watched.
            _compactedBefore = ++_version;
            _history.Clear();
        }
    }

    /// <summary>Ends every open watch stream abruptly (as a restarting API server or a load balancer would).</summary>
    public void DropWatches()
    {
        CancellationTokenSource old;
        lock (_lock)
        {
            old = _dropWatches;
            _dropWatches = new CancellationTokenSource();
        }
        old.Cancel();
    }

    public JsonObject? Lease(string key)
    {
        lock (_lock) return _leases.TryGetValue(key, out var lease) ? lease.DeepClone().AsObject() : null;
    }

    private void Record(long version, string kind, string type, JsonObject obj)
    {
        _history.Add((version, kind, type, obj.ToJsonString()));
        var changed = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    private Dictionary<string, JsonObject> KindObjects(string kind)
    {
        if (!_objects.TryGetValue(kind, out var map)) _objects[kind] = map = new(StringComparer.Ordinal);
        return map;
    }

    private static string Key(JsonObject obj)
    {
        var meta = obj["metadata"]!;
        var ns = meta["namespace"]?.GetValue<string>();
        var name = meta["name"]!.GetValue<string>();
        return string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (Down)
        {
            context.Response.StatusCode = 503;
            return;
        }
        if (request.Method == "GET" && Paths.TryGetValue(path, out var kind))
        {
            if (request.Query["watch"] == "1") await WatchAsync(context, kind);
            else await ListAsync(context, kind);
            return;
        }
        if (path.StartsWith("/apis/coordination.k8s.io/v1/namespaces/", StringComparison.Ordinal))
        {
            await LeaseAsync(context, path);
            return;
        }
        if (request.Method == "PATCH" && path.StartsWith("/apis/networking.k8s.io/v1/namespaces/", StringComparison.Ordinal) && path.EndsWith("/status", StringComparison.Ordinal))
        {
            var body = await new StreamReader(request.Body).ReadToEndAsync();
            var parts = path.Split('/'); // "", apis, networking.k8s.io, v1, namespaces, NS, ingresses, NAME, status
            var key = $"{parts[5]}/{parts[7]}";
            lock (_lock) StatusPatches.Add((path, body));
            JsonObject current;
            lock (_lock) current = KindObjects("Ingress")[key].DeepClone().AsObject();
            current["status"] = JsonNode.Parse(body)!["status"]!.DeepClone();
            Put(current);
            await context.Response.WriteAsync(current.ToJsonString());
            return;
        }
        if (request.Method == "POST" && path.EndsWith("/events", StringComparison.Ordinal))
        {
            var body = JsonNode.Parse(await new StreamReader(request.Body).ReadToEndAsync())!.AsObject();
            lock (_lock) Events.Add(body);
            context.Response.StatusCode = 201;
            await context.Response.WriteAsync(body.ToJsonString());
            return;
        }
        context.Response.StatusCode = 404;
        await context.Response.WriteAsync("""{"kind":"Status","status":"Failure","reason":"NotFound","code":404}""");
    }

    private async Task ListAsync(HttpContext context, string kind)
    {
        Interlocked.Increment(ref ListRequests);
        var list = new JsonObject();
        var items = new JsonArray();
        lock (_lock)
        {
            foreach (var obj in KindObjects(kind).Values) items.Add(obj.DeepClone());
            list["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        }
        list["kind"] = kind + "List";
        list["items"] = items;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(list.ToJsonString());
    }

    private async Task WatchAsync(HttpContext context, string kind)
    {
        Interlocked.Increment(ref WatchRequests);
        long from = long.Parse(context.Request.Query["resourceVersion"]!, System.Globalization.CultureInfo.InvariantCulture);
        int timeout = int.Parse(context.Request.Query["timeoutSeconds"].FirstOrDefault() ?? "300", System.Globalization.CultureInfo.InvariantCulture);
        bool bookmarks = context.Request.Query["allowWatchBookmarks"] == "true";
        context.Response.ContentType = "application/json";
        CancellationToken dropped;
        lock (_lock) dropped = _dropWatches.Token;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, dropped);
        cancel.CancelAfter(TimeSpan.FromSeconds(timeout));
        await context.Response.StartAsync();
        long sent = from;
        try
        {
            while (!cancel.IsCancellationRequested && !Down)
            {
                var lines = new List<string>();
                Task changed;
                lock (_lock)
                {
                    if (sent < _compactedBefore)
                    {
                        Interlocked.Increment(ref GoneSent);
                        lines.Add("""{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}}""");
                    }
                    else
                    {
                        foreach (var (version, k, type, json) in _history)
                        {
                            if (version <= sent || k != kind) continue;
                            lines.Add($"{{\"type\":\"{type}\",\"object\":{json}}}");
                        }
                        if (_history.Count > 0) sent = Math.Max(sent, _history[^1].Version);
                        sent = Math.Max(sent, _version);
                    }
                    changed = _changed.Task;
                }
                foreach (var line in lines) await context.Response.WriteAsync(line + "\n", cancel.Token);
                await context.Response.Body.FlushAsync(cancel.Token);
                if (lines.Count > 0 && lines[0].Contains("\"ERROR\"", StringComparison.Ordinal)) return;
                var tick = Task.Delay(200, cancel.Token);
                await Task.WhenAny(changed, tick);
                if (tick.IsCompleted && !cancel.IsCancellationRequested && bookmarks)
                {
                    string bookmark;
                    lock (_lock) bookmark = $"{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{kind}\",\"apiVersion\":\"v1\",\"metadata\":{{\"resourceVersion\":\"{sent}\"}}}}}}";
                    await context.Response.WriteAsync(bookmark + "\n", cancel.Token);
                    await context.Response.Body.FlushAsync(cancel.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        if (dropped.IsCancellationRequested) context.Abort();
    }

    private async Task LeaseAsync(HttpContext context, string path)
    {
        // /apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME]
        var parts = path.Split('/');
        string ns = parts[5];
        var method = context.Request.Method;
        context.Response.ContentType = "application/json";
        if (method == "GET" && parts.Length == 8)
        {
            var lease = Lease($"{ns}/{parts[7]}");
            if (lease is null)
            {
                context.Response.StatusCode = 404;
                await context.Response.WriteAsync("""{"kind":"Status","reason":"NotFound","code":404}""");
            }
            else await context.Response.WriteAsync(lease.ToJsonString());
            return;
        }
        var body = JsonNode.Parse(await new StreamReader(context.Request.Body).ReadToEndAsync())!.AsObject();
        var name = body["metadata"]!["name"]!.GetValue<string>();
        var key = $"{ns}/{name}";
        lock (_lock)
        {
            _leases.TryGetValue(key, out var existing);
            if (method == "POST" && existing is not null || method == "PUT" && (existing is null ||
                existing["metadata"]!["resourceVersion"]!.GetValue<string>() != body["metadata"]?["resourceVersion"]?.GetValue<string>()))
            {
                context.Response.StatusCode = 409;
                body = JsonNode.Parse("""{"kind":"Status","reason":"Conflict","code":409}""")!.AsObject();
            }
            else
            {
                body["metadata"]!["namespace"] = ns;
                body["metadata"]!["resourceVersion"] = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
                _leases[key] = body;
                if (method == "POST") context.Response.StatusCode = 201;
            }
        }
        await context.Response.WriteAsync(body.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
