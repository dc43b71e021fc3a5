using System.Net.Http;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FastProxy.Ingress.Model;

namespace FastProxy.Kubernetes;

/// <summary>The kinds the controller lists and watches: the collection's path and how an item is read.</summary>
internal sealed class ResourceKind(string name, string path, Func<JsonElement, KubeObject?> read)
{
    public string Name { get; } = name;
    /// <summary>The cluster-wide collection ("/apis/networking.k8s.io/v1/ingresses").</summary>
    public string Path { get; } = path;
    public KubeObject? Read(JsonElement element) => read(element);

    public static readonly ResourceKind IngressClasses = new("ingressclasses", "/apis/networking.k8s.io/v1/ingressclasses", e => e.Deserialize(KubernetesJson.Default.IngressClass));
    public static readonly ResourceKind Ingresses = new("ingresses", "/apis/networking.k8s.io/v1/ingresses", e => e.Deserialize(KubernetesJson.Default.Ingress));
    public static readonly ResourceKind Services = new("services", "/api/v1/services", e => e.Deserialize(KubernetesJson.Default.Service));
    public static readonly ResourceKind EndpointSlices = new("endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", e => e.Deserialize(KubernetesJson.Default.EndpointSlice));
    public static readonly ResourceKind Secrets = new("secrets", "/api/v1/secrets", e => e.Deserialize(KubernetesJson.Default.Secret));

    public static readonly ResourceKind[] Watched = [IngressClasses, Ingresses, Services, EndpointSlices, Secrets];
}

/// <summary>An answer from the API server that is not a success.</summary>
internal sealed class KubeApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}

/// <summary>
/// A minimal Kubernetes API client over HttpClient and the source-generated models: list (with continue), watch
/// (newline-delimited JSON events), get, create, replace, merge-patch. Why not KubernetesClient: docs/architecture.md.
/// </summary>
internal sealed class KubeApi : IDisposable
{
    private readonly HttpClient _http;
    private readonly KubeConnection _connection;
    private string? _fileToken;
    private long _fileTokenReadAt = long.MinValue;

    public KubeApi(KubeConnection connection)
    {
        _connection = connection;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            SslOptions = new SslClientAuthenticationOptions(),
        };
        if (connection.ClientCertificate is { } cert) handler.SslOptions.ClientCertificates = [cert];
        if (connection.InsecureSkipVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (connection.Ca is { } ca)
        {
            handler.SslOptions.CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            };
            handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(ca);
        }
        _http = new HttpClient(handler) { BaseAddress = connection.Server, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"fastproxy-ingress/{Program.Version}");
        _http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
    }

    public string Namespace => _connection.Namespace;

    private HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, path);
        var token = _connection.Token ?? FileToken();
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private string? FileToken()
    {
        if (_connection.TokenFile is null) return null;
        long now = Environment.TickCount64;
        if (_fileToken is null || now - _fileTokenReadAt > 60_000)
        {
            try
            {
                _fileToken = File.ReadAllText(_connection.TokenFile).Trim();
                _fileTokenReadAt = now;
            }
            catch (IOException) when (_fileToken is not null)
            {
                // Keep the last token; the next request tries again.
            }
        }
        return _fileToken;
    }

    /// <summary>Every object of a kind (pages of 500) and the resourceVersion to watch from.</summary>
    public async Task<(List<KubeObject> Items, string ResourceVersion)> ListAsync(ResourceKind kind, CancellationToken cancel)
    {
        var items = new List<KubeObject>();
        string? next = null;
        while (true)
        {
            var path = $"{kind.Path}?limit=500" + (next is null ? "" : "&continue=" + Uri.EscapeDataString(next));
            using var request = Request(HttpMethod.Get, path);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            await EnsureSuccess(response, $"list {kind.Name}", timeout.Token);
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            using var document = await JsonDocument.ParseAsync(stream, cancellationToken: timeout.Token);
            var root = document.RootElement;
            if (root.TryGetProperty("items", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var element in list.EnumerateArray())
                {
                    if (kind.Read(element) is { } obj) items.Add(obj);
                }
            }
            var meta = root.TryGetProperty("metadata", out var m) ? m.Deserialize(KubernetesJson.Default.ListMeta) : null;
            next = meta?.Continue;
            if (string.IsNullOrEmpty(next)) return (items, meta?.ResourceVersion ?? "");
        }
    }

    /// <summary>
    /// Opens a watch from <paramref name="resourceVersion"/> with bookmarks; each event is handed to
    /// <paramref name="onEvent"/> as it arrives. Returns when the server ends the stream (its timeout, about
    /// <paramref name="timeoutSeconds"/>); throws <see cref="KubeApiException"/> with 410 when the version is too old.
    /// </summary>
    public async Task WatchAsync(ResourceKind kind, string resourceVersion, int timeoutSeconds, Action<WatchEvent> onEvent, CancellationToken cancel)
    {
        var path = $"{kind.Path}?watch=1&allowWatchBookmarks=true&resourceVersion={Uri.EscapeDataString(resourceVersion)}&timeoutSeconds={timeoutSeconds}";
        using var request = Request(HttpMethod.Get, path);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        await EnsureSuccess(response, $"watch {kind.Name}", cancel);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        // A watch that goes silent past its own timeout (a half-open connection) is given up.
        var idle = TimeSpan.FromSeconds(timeoutSeconds + 30);
        while (true)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            deadline.CancelAfter(idle);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
            {
                throw new IOException($"watch {kind.Name}: nothing received for {idle.TotalSeconds:0} s");
            }
            if (line is null) return;
            if (line.Length == 0) continue;
            var watchEvent = JsonSerializer.Deserialize(line, KubernetesJson.Default.WatchEvent) ?? throw new IOException("a watch event that is null");
            if (watchEvent.Type == "ERROR")
            {
                var status = watchEvent.Object.Deserialize(KubernetesJson.Default.Status);
                throw new KubeApiException((HttpStatusCode)(status?.Code ?? 500), $"watch {kind.Name}: {status?.Reason} {status?.Message}");
            }
            onEvent(watchEvent);
        }
    }

    public async Task<T?> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancel) where T : class
    {
        using var request = Request(HttpMethod.Get, path);
        using var response = await _http.SendAsync(request, cancel);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureSuccess(response, $"get {path}", cancel);
        return await response.Content.ReadFromJsonAsync(type, cancel);
    }

    /// <summary>POST (create) or PUT (replace); a conflict (409) or an existing object is a <see cref="KubeApiException"/>.</summary>
    public async Task<T?> SendAsync<T>(HttpMethod method, string path, T body, JsonTypeInfo<T> type, CancellationToken cancel) where T : class
    {
        using var request = Request(method, path);
        request.Content = new StringContent(JsonSerializer.Serialize(body, type), Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request, cancel);
        await EnsureSuccess(response, $"{method} {path}", cancel);
        return await response.Content.ReadFromJsonAsync(type, cancel);
    }

    /// <summary>A JSON merge patch (RFC 7386), e.g. of an Ingress's status subresource.</summary>
    public async Task MergePatchAsync(string path, string json, CancellationToken cancel)
    {
        using var request = Request(HttpMethod.Patch, path);
        request.Content = new StringContent(json, Encoding.UTF8);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/merge-patch+json");
        using var response = await _http.SendAsync(request, cancel);
        await EnsureSuccess(response, $"patch {path}", cancel);
    }

    private static async Task EnsureSuccess(HttpResponseMessage response, string what, CancellationToken cancel)
    {
        if (response.IsSuccessStatusCode) return;
        string message = "";
        try
        {
            var status = await response.Content.ReadFromJsonAsync(KubernetesJson.Default.Status, cancel);
            message = status?.Message ?? "";
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or IOException)
        {
            // Not a Status: the code says enough.
        }
        throw new KubeApiException(response.StatusCode, $"{what}: {(int)response.StatusCode} {response.ReasonPhrase} {message}".TrimEnd());
    }

    public void Dispose() => _http.Dispose();
}
