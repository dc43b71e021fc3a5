using System.Net.Http;
using System.Text.Json.Nodes;
using FastProxy.Hosting;
using FastProxy.Ingress;
using FastProxy.Kubernetes;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Ingress;

/// <summary>Events for invalid Ingresses, and the status written by one replica holding the Lease.</summary>
public sealed class IngressStatusTests
{
    private static readonly string Cluster = IngressHarness.WebCluster(
        KubeObjects.Ingress("broken", "broken.example.com", ns: "shop", second: 2, annotations: """{ fastproxy.io/rate-limit: "lots" }"""),
        KubeObjects.Service("edge", "ingress", ports: "[ { port: 80 } ]", loadBalancerIp: "198.51.100.9"));

    private static readonly ElectionTimings Fast = new()
    {
        LeaseDuration = TimeSpan.FromSeconds(2),
        RenewDeadline = TimeSpan.FromMilliseconds(1500),
        RetryPeriod = TimeSpan.FromMilliseconds(200),
    };

    private static IngressRig Replica(FakeKubeApi fake, string identity, string? service)
        => IngressRig.Start(fake, api => new StatusPublisher(api, identity, "ingress", "fastproxy-ingress-leader", null, service, Fast));

    private static string? StatusIp(FakeKubeApi fake, string key)
        => fake.Get("Ingress", key)["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"]?.GetValue<string>();

    [Fact]
    public async Task An_invalid_Ingress_gets_a_warning_event_and_the_others_are_served()
    {
        await using var pods = await PodOrigins.StartAsync("svc-foo", "pod-2");
        await using var fake = await FakeKubeApi.StartAsync();
        fake.Load(Cluster);
        fake.Put(KubeObjects.EndpointSlice("svc-foo-1", pods.PortOf("svc-foo")));
        await using var replica = Replica(fake, "solo", null);
        await Wait.UntilAsync(() => replica.Controller.Applied >= 1 && fake.Events.Count >= 1, "applied, and an event", TimeSpan.FromSeconds(20));
        JsonObject ev;
        lock (fake.Events) ev = Assert.Single(fake.Events);
        Assert.Equal("Warning", ev["type"]!.GetValue<string>());
        Assert.Equal("InvalidIngress", ev["reason"]!.GetValue<string>());
        Assert.Equal("broken", ev["involvedObject"]!["name"]!.GetValue<string>());
        Assert.Equal("shop", ev["involvedObject"]!["namespace"]!.GetValue<string>());
        Assert.Contains("fastproxy.io/rate-limit", ev["message"]!.GetValue<string>());
        using var client = IngressHarness.Client(replica.Host.EndPoints["web"]);
        Assert.StartsWith("svc-foo ", await client.GetStringAsync("http://web.example.com/"));
        // Reported once, not at every translation.
        fake.Put(KubeObjects.EndpointSlice("svc-foo-2", pods.PortOf("pod-2")));
        await Wait.UntilAsync(() => replica.Controller.Applied >= 2, "the next translation", TimeSpan.FromSeconds(20));
        lock (fake.Events) Assert.Single(fake.Events);
    }

    [Fact]
    public async Task Only_the_lease_holder_writes_status_and_another_takes_over_after_expiry()
    {
        await using var fake = await FakeKubeApi.StartAsync();
        fake.Load(Cluster);
        await using var first = Replica(fake, "replica-1", "ingress/edge");
        await Wait.UntilAsync(() => first.Status!.IsLeader && StatusIp(fake, "default/web") == "198.51.100.9", "replica-1 leads and wrote the status", TimeSpan.FromSeconds(20));
        await using var second = Replica(fake, "replica-2", "ingress/edge");
        await Wait.UntilAsync(() => second.Controller.Applied >= 1, "replica-2 serving", TimeSpan.FromSeconds(20));

        // A new publish address: only the holder writes it.
        var edge = fake.Get("Service", "ingress/edge");
        edge["status"] = JsonNode.Parse("""{"loadBalancer":{"ingress":[{"ip":"198.51.100.10"}]}}""");
        fake.Put(edge);
        await Wait.UntilAsync(() => StatusIp(fake, "default/web") == "198.51.100.10", "the new address written", TimeSpan.FromSeconds(20));
        await Task.Delay(500); // several retry periods of replica-2
        Assert.True(first.Status!.IsLeader);
        Assert.False(second.Status!.IsLeader);
        Assert.Equal(0, second.Status!.Writes);
        Assert.Equal(first.Status!.Writes, fake.StatusPatches.Count);
        // The invalid Ingress is not served, so its status is not written.
        Assert.DoesNotContain(fake.StatusPatches, p => p.Path.Contains("/broken/", StringComparison.Ordinal));

        // replica-1 stops renewing without letting go (a crash: its lease is left to expire).
        var lease = fake.Lease("ingress/fastproxy-ingress-leader")!;
        Assert.Equal("replica-1", lease["spec"]!["holderIdentity"]!.GetValue<string>());
        first.Status!.Freeze();
        await Wait.UntilAsync(() => second.Status!.IsLeader, "replica-2 takes over after the lease expired", TimeSpan.FromSeconds(20));
        Assert.Equal("replica-2", fake.Lease("ingress/fastproxy-ingress-leader")!["spec"]!["holderIdentity"]!.GetValue<string>());
        Assert.Equal(1, fake.Lease("ingress/fastproxy-ingress-leader")!["spec"]!["leaseTransitions"]!.GetValue<int>());
        edge = fake.Get("Service", "ingress/edge");
        edge["status"] = JsonNode.Parse("""{"loadBalancer":{"ingress":[{"ip":"198.51.100.11"}]}}""");
        fake.Put(edge);
        await Wait.UntilAsync(() => StatusIp(fake, "default/web") == "198.51.100.11", "the new leader writes", TimeSpan.FromSeconds(20));
        Assert.True(second.Status!.Writes >= 1);
    }
}
