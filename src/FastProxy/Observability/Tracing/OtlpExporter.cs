using System.Buffers;
using System.Net.Http;
using System.Net.Http.Headers;
using FastProxy.Configuration;
using FastProxy.Diagnostics;

namespace FastProxy.Observability.Tracing;

/// <summary>
/// Sends encoded spans to an OTLP/HTTP collector (POST {endpoint}/v1/traces, application/x-protobuf, one
/// ExportTraceServiceRequest per batch) from a loop of its own, never from the request path. Requests hand over
/// their spans with <see cref="Enqueue"/>: a bounded queue under a short lock, no waiting; when full, the spans
/// are dropped and counted (TracingCounters). A collector that is down, slow or refusing costs batches (counted as
/// failed, one log line a minute at most), never a request.
/// </summary>
internal sealed class OtlpExporter : IDisposable
{
    // collector/trace/v1/trace_service.proto: ExportTraceServiceRequest.resource_spans = 1.
    // trace.proto: ResourceSpans.resource = 1, .scope_spans = 2; ScopeSpans.scope = 1 (spans = 2, already encoded).
    // resource.proto: Resource.attributes = 1. common.proto: InstrumentationScope.name = 1, .version = 2;
    // KeyValue.key = 1, .value = 2; AnyValue.string_value = 1.
    private const int RequestResourceSpans = 1, ResourceSpansResource = 1, ResourceSpansScopeSpans = 2, ScopeSpansScope = 1;
    private const int ResourceAttributes = 1, ScopeName = 1, ScopeVersion = 2, KeyValueKey = 1, KeyValueValue = 2, AnyString = 1;

    private readonly HttpClient _client;
    private readonly Uri _target;
    private readonly int _batchSize;
    private readonly TimeSpan _interval;
    private readonly byte[] _resourceAndScope;
    private readonly Lock _lock = new();
    private readonly Item[] _queue;
    private int _head, _count;
    private readonly SemaphoreSlim _wake = new(0);
    private int _wakePending;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _references = 1;
    private long _lastFailureLogMs = long.MinValue;

    private readonly record struct Item(byte[] Buffer, int Length, int Spans);

    public OtlpExporter(TracingConfig config, HttpMessageHandler? handler = null)
    {
        Settings = config;
        var endpoint = config.OtlpEndpoint ?? throw new ArgumentException("no otlp_endpoint", nameof(config));
        var basePath = endpoint.AbsolutePath.TrimEnd('/');
        _target = new Uri(endpoint, basePath + "/v1/traces");
        _batchSize = config.BatchSize;
        _interval = config.ExportInterval;
        _queue = new Item[config.QueueSize];
        _resourceAndScope = EncodeResourceAndScope(config.ServiceName);
        _client = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30), ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The settings this exporter was made with: a reload with the same ones keeps it.</summary>
    public TracingConfig Settings { get; }

    public Uri Target => _target;

    public bool SameSettings(TracingConfig other) => Settings.OtlpEndpoint == other.OtlpEndpoint && Settings.ServiceName == other.ServiceName
        && Settings.BatchSize == other.BatchSize && Settings.ExportInterval == other.ExportInterval && Settings.QueueSize == other.QueueSize;

    /// <summary>Another configuration generation uses this exporter too.</summary>
    public OtlpExporter Acquire()
    {
        Interlocked.Increment(ref _references);
        return this;
    }

    /// <summary>A generation using it was retired; the last one stops it (what is queued is still sent).</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) Dispose();
    }

    /// <summary>Takes a buffer rented from ArrayPool&lt;byte&gt;.Shared holding <paramref name="spans"/> encoded spans; it goes back to the pool once sent or dropped.</summary>
    public void Enqueue(byte[] buffer, int length, int spans)
    {
        bool wake = false;
        lock (_lock)
        {
            if (_count == _queue.Length || _stop.IsCancellationRequested)
            {
                TracingCounters.Dropped(spans);
                ArrayPool<byte>.Shared.Return(buffer);
                return;
            }
            _queue[(_head + _count) % _queue.Length] = new Item(buffer, length, spans);
            _count++;
            wake = _count >= _batchSize;
        }
        // A full batch goes at once rather than at the next interval; one wake-up is enough however many arrive.
        if (wake && Interlocked.Exchange(ref _wakePending, 1) == 0) _wake.Release();
    }

    private async Task RunAsync()
    {
        var batch = new Item[_batchSize];
        while (true)
        {
            bool stopping = _stop.IsCancellationRequested;
            if (!stopping)
            {
                try
                {
                    await _wake.WaitAsync(_interval, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    stopping = true;
                }
                Volatile.Write(ref _wakePending, 0);
            }
            // Everything queued goes, a batch at a time.
            while (true)
            {
                int n = Take(batch);
                if (n == 0) break;
                await SendAsync(batch, n, stopping).ConfigureAwait(false);
            }
            if (stopping) return;
        }
    }

    private int Take(Item[] batch)
    {
        lock (_lock)
        {
            int n = Math.Min(_count, batch.Length);
            for (int i = 0; i < n; i++)
            {
                batch[i] = _queue[_head];
                _queue[_head] = default;
                _head = (_head + 1) % _queue.Length;
            }
            _count -= n;
            return n;
        }
    }

    private async Task SendAsync(Item[] batch, int n, bool stopping)
    {
        int spans = 0, spanBytes = 0;
        for (int i = 0; i < n; i++)
        {
            spans += batch[i].Spans;
            spanBytes += batch[i].Length;
        }
        byte[] body = ArrayPool<byte>.Shared.Rent(spanBytes + _resourceAndScope.Length + 32);
        try
        {
            int length = EncodeRequest(body, batch, n, spanBytes);
            for (int i = 0; i < n; i++)
            {
                ArrayPool<byte>.Shared.Return(batch[i].Buffer);
                batch[i] = default;
            }
            using var content = new ByteArrayContent(body, 0, length);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            using var timeout = stopping ? new CancellationTokenSource(TimeSpan.FromSeconds(2)) : null;
            using var response = await _client.PostAsync(_target, content, timeout?.Token ?? CancellationToken.None).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                TracingCounters.Exported(spans);
            }
            else
            {
                TracingCounters.Failed(spans);
                LogFailure($"HTTP {(int)response.StatusCode}");
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            TracingCounters.Failed(spans);
            LogFailure(ex is OperationCanceledException ? "timed out" : ex.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    private void LogFailure(string reason)
    {
        long now = Environment.TickCount64;
        if (now - _lastFailureLogMs < 60_000) return;
        _lastFailureLogMs = now;
        Log.TraceExportFailed(_target.ToString(), reason);
    }

    /// <summary>ExportTraceServiceRequest { resource_spans { resource, scope_spans { scope, spans... } } } around the encoded spans.</summary>
    private int EncodeRequest(byte[] body, Item[] batch, int n, int spanBytes)
    {
        int scopeSpans = _resourceAndScope.Length - ResourcePart + spanBytes;
        int resourceSpans = ResourcePart + ProtoWriter.PrefixLength(scopeSpans) + scopeSpans;
        var w = new ProtoWriter(body);
        w.LengthPrefix(RequestResourceSpans, resourceSpans);
        w.Raw(_resourceAndScope.AsSpan(0, ResourcePart));
        w.LengthPrefix(ResourceSpansScopeSpans, scopeSpans);
        w.Raw(_resourceAndScope.AsSpan(ResourcePart));
        for (int i = 0; i < n; i++) w.Raw(batch[i].Buffer.AsSpan(0, batch[i].Length));
        return w.Length;
    }

    /// <summary>How many bytes of <see cref="_resourceAndScope"/> are the ResourceSpans.resource field (the rest is ScopeSpans.scope).</summary>
    private int ResourcePart { get; set; }

    private byte[] EncodeResourceAndScope(string serviceName)
    {
        var buffer = new byte[1024 + 3 * serviceName.Length];
        var w = new ProtoWriter(buffer);
        int resource = w.Begin(ResourceSpansResource);
        StringAttribute(ref w, ResourceAttributes, "service.name", serviceName);
        StringAttribute(ref w, ResourceAttributes, "telemetry.sdk.name", "fastproxy");
        StringAttribute(ref w, ResourceAttributes, "telemetry.sdk.language", "dotnet");
        w.End(resource);
        int resourceLength = w.Length;
        int scope = w.Begin(ScopeSpansScope);
        w.String(ScopeName, "fastproxy");
        w.String(ScopeVersion, typeof(OtlpExporter).Assembly.GetName().Version?.ToString() ?? "0");
        w.End(scope);
        ResourcePart = resourceLength;
        return buffer.AsSpan(0, w.Length).ToArray();
    }

    private static void StringAttribute(ref ProtoWriter w, int field, string key, string value)
    {
        int kv = w.Begin(field);
        w.String(KeyValueKey, key);
        int any = w.Begin(KeyValueValue);
        w.String(AnyString, value);
        w.End(any);
        w.End(kv);
    }

    /// <summary>Stops taking spans; sends what is queued (at most a few seconds), then closes.</summary>
    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _ = _loop.ContinueWith(_ => _client.Dispose(), TaskScheduler.Default);
    }

    /// <summary>For tests and shutdown: waits until the loop has sent what was queued and ended.</summary>
    public Task Completion => _loop;
}
