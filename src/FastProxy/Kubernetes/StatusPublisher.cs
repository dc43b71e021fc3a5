using System.Net.Http;
using System.Net;
using System.Text;
using System.Text.Json;
using FastProxy.Diagnostics;
using FastProxy.Ingress;
using FastProxy.Ingress.Model;

namespace FastProxy.Kubernetes;

/// <summary>
/// Writes status.loadBalancer.ingress of the served Ingresses, from --publish-address or the --publish-service's own
/// load-balancer status (else its external IPs), and only while this replica holds the Lease: N replicas, one writer.
/// </summary>
/// <remarks>
/// Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does: the holder renews
/// renewTime every <see cref="ElectionTimings.RetryPeriod"/>; another replica takes the Lease over only once
/// renewTime + leaseDurationSeconds has passed; every write carries the resourceVersion read, so two replicas racing
/// for it cannot both win (the API server answers 409 to the second). A holder that cannot renew within
/// <see cref="ElectionTimings.RenewDeadline"/> stops writing.
/// </remarks>
internal sealed class StatusPublisher(KubeApi api, string identity, string leaseNamespace, string leaseName,
    IReadOnlyList<string>? publishAddresses, string? publishService, ElectionTimings timings)
{
    private readonly SemaphoreSlim _changed = new(0, 1);
    private long _lastRenewMs = long.MinValue;
    private volatile bool _leader;

    public bool IsLeader => _leader;
    public string Identity => identity;

    /// <summary>How many status patches this replica sent (tests: only the leader writes).</summary>
    public int Writes;

    private volatile bool _frozen;

    /// <summary>Tests: stop renewing and writing without letting the Lease go, as a replica that hangs or crashes.</summary>
    internal void Freeze() => _frozen = true;

    public void Changed()
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

    public async Task RunAsync(Func<TranslationResult?> serving, ClusterStore store, CancellationToken cancel)
    {
        var written = new Dictionary<string, string>(StringComparer.Ordinal);
        while (!cancel.IsCancellationRequested)
        {
            if (_frozen)
            {
                try
                {
                    await Task.Delay(timings.RetryPeriod, cancel);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            bool was = _leader;
            try
            {
                await TryAcquireOrRenewAsync(cancel);
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                Log.IngressApiFailed($"lease {leaseNamespace}/{leaseName}", e.Message);
            }
            if (_leader && Environment.TickCount64 - _lastRenewMs > timings.RenewDeadline.TotalMilliseconds)
            {
                _leader = false;
                Log.IngressLeader(identity, $"{leaseNamespace}/{leaseName}", "could not renew in time and gave up");
            }
            if (_leader != was) written.Clear(); // a new leader writes everything once
            if (_leader && serving() is { } result)
            {
                try
                {
                    await PublishAsync(result, store.Snapshot(), written, cancel);
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or OperationCanceledException)
                {
                    Log.IngressApiFailed("status update", e.Message);
                    written.Clear();
                }
            }
            try
            {
                await _changed.WaitAsync(timings.RetryPeriod, cancel);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        if (_leader && !_frozen) await ReleaseAsync();
    }

    private string LeasePath => $"/apis/coordination.k8s.io/v1/namespaces/{leaseNamespace}/leases/{leaseName}";

    private async Task TryAcquireOrRenewAsync(CancellationToken cancel)
    {
        var now = DateTimeOffset.UtcNow;
        long nowMs = Environment.TickCount64;
        var lease = await api.GetAsync(LeasePath, KubernetesJson.Default.Lease, cancel);
        int duration = (int)timings.LeaseDuration.TotalSeconds;
        if (lease is null)
        {
            var created = new Lease
            {
                ApiVersion = "coordination.k8s.io/v1",
                Kind = "Lease",
                Metadata = new ObjectMeta { Name = leaseName, Namespace = leaseNamespace },
                Spec = new LeaseSpec { HolderIdentity = identity, LeaseDurationSeconds = duration, AcquireTime = now, RenewTime = now, LeaseTransitions = 0 },
            };
            await api.SendAsync(HttpMethod.Post, $"/apis/coordination.k8s.io/v1/namespaces/{leaseNamespace}/leases", created, KubernetesJson.Default.Lease, cancel);
            Became(nowMs);
            return;
        }
        var spec = lease.Spec;
        bool mine = spec.HolderIdentity == identity;
        var expires = (spec.RenewTime ?? DateTimeOffset.MinValue).AddSeconds(spec.LeaseDurationSeconds ?? duration);
        if (!mine && !string.IsNullOrEmpty(spec.HolderIdentity) && expires > now)
        {
            if (_leader)
            {
                _leader = false;
                Log.IngressLeader(identity, $"{leaseNamespace}/{leaseName}", "lost");
            }
            return;
        }
        if (!mine)
        {
            spec.AcquireTime = now;
            spec.LeaseTransitions = (spec.LeaseTransitions ?? 0) + 1;
            spec.HolderIdentity = identity;
        }
        spec.RenewTime = now;
        spec.LeaseDurationSeconds = duration;
        // The resourceVersion read goes back: a replica that raced us to it gets 409 Conflict.
        await api.SendAsync(HttpMethod.Put, LeasePath, lease, KubernetesJson.Default.Lease, cancel);
        if (mine) _lastRenewMs = nowMs;
        else Became(nowMs);
    }

    private void Became(long nowMs)
    {
        _lastRenewMs = nowMs;
        _leader = true;
        Log.IngressLeader(identity, $"{leaseNamespace}/{leaseName}", "holds");
    }

    /// <summary>On a clean stop the Lease is let go at once (renewTime cleared), so a standby takes over without waiting.</summary>
    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var lease = await api.GetAsync(LeasePath, KubernetesJson.Default.Lease, timeout.Token);
            if (lease is null || lease.Spec.HolderIdentity != identity) return;
            lease.Spec.HolderIdentity = "";
            lease.Spec.RenewTime = DateTimeOffset.UnixEpoch;
            await api.SendAsync(HttpMethod.Put, LeasePath, lease, KubernetesJson.Default.Lease, timeout.Token);
        }
        catch (Exception e) when (e is KubeApiException or HttpRequestException or IOException or OperationCanceledException or JsonException)
        {
            Log.IngressApiFailed("lease release", e.Message);
        }
        _leader = false;
    }

    /// <summary>The addresses to publish: --publish-address, else the publish Service's load balancer, else its external IPs.</summary>
    internal List<LoadBalancerIngress> Addresses(ClusterState state)
    {
        var list = new List<LoadBalancerIngress>();
        if (publishAddresses is not null)
        {
            foreach (var address in publishAddresses)
                list.Add(IPAddress.TryParse(address, out _) ? new LoadBalancerIngress { Ip = address } : new LoadBalancerIngress { Hostname = address });
            return list;
        }
        if (publishService is null || !state.Services.TryGetValue(publishService, out var service)) return list;
        foreach (var lb in service.Status?.LoadBalancer?.Ingress ?? []) list.Add(new LoadBalancerIngress { Ip = lb.Ip, Hostname = lb.Hostname });
        if (list.Count == 0)
            foreach (var ip in service.Spec.ExternalIPs ?? []) list.Add(new LoadBalancerIngress { Ip = ip });
        return list;
    }

    private async Task PublishAsync(TranslationResult result, ClusterState state, Dictionary<string, string> written, CancellationToken cancel)
    {
        var addresses = Addresses(state);
        var body = new StringBuilder("{\"status\":{\"loadBalancer\":{\"ingress\":[");
        for (int i = 0; i < addresses.Count; i++)
        {
            if (i > 0) body.Append(',');
            body.Append('{');
            if (addresses[i].Ip is { } ip) body.Append("\"ip\":").Append(JsonSerializer.Serialize(ip, KubernetesJson.Default.String));
            else body.Append("\"hostname\":").Append(JsonSerializer.Serialize(addresses[i].Hostname!, KubernetesJson.Default.String));
            body.Append('}');
        }
        body.Append("]}}}");
        var json = body.ToString();
        var wanted = Canonical(addresses);
        foreach (var key in result.ServedIngresses)
        {
            if (written.TryGetValue(key, out var done) && done == json) continue;
            // Already right in the cluster (another leader wrote it, or a restart): nothing to write.
            if (state.Ingresses.TryGetValue(key, out var ingress) && Canonical(ingress.Status?.LoadBalancer?.Ingress ?? []) == wanted)
            {
                written[key] = json;
                continue;
            }
            var parts = key.Split('/', 2);
            await api.MergePatchAsync($"/apis/networking.k8s.io/v1/namespaces/{parts[0]}/ingresses/{parts[1]}/status", json, cancel);
            Interlocked.Increment(ref Writes);
            written[key] = json;
        }
    }

    private static string Canonical(List<LoadBalancerIngress> list)
    {
        var parts = new List<string>();
        foreach (var item in list) parts.Add((item.Ip ?? "") + "|" + (item.Hostname ?? ""));
        parts.Sort(StringComparer.Ordinal);
        return string.Join(",", parts);
    }
}

/// <summary>Leader election times (client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry).</summary>
internal sealed class ElectionTimings
{
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}
