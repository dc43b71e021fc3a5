using System.Net;
using System.Net.Http;
using System.Text.Json.Nodes;
using FastProxy.Hosting;
using FastProxy.Ingress;
using FastProxy.Kubernetes;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Ingress;

/// <summary>
/// The watch loop against <see cref="FakeKubeApi"/> while bounded traffic (HTTP/1.1 and h2c) flows through the proxy to
/// loopback pods: endpoints change mid-run, watches are dropped, history is compacted (410 Gone), and the API server
/// goes down, with zero failed requests.
/// </summary>
public sealed class IngressWatchTests
{
    private const string Cluster = """
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: { name: fastproxy }
        spec: { controller: fastproxy.io/ingress-controller }
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: { name: web, namespace: default, creationTimestamp: "2026-01-01T00:00:01Z" }
        spec:
          ingressClassName: fastproxy
          rules:
          - host: web.example.com
            http:
              paths:
              - { path: /, pathType: Prefix, backend: { service: { name: svc-foo, port: { number: 80 } } } }
        ---
        apiVersion: v1
        kind: Service
        metadata: { name: svc-foo, namespace: default }
        spec: { ports: [ { name: http, port: 80 } ] }
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: { name: svc-foo-a, namespace: default, labels: { kubernetes.io/service-name: svc-foo } }
        addressType: IPv4
        ports: [ { name: http, port: 1 } ]
        endpoints: [ { addresses: [127.0.0.1], conditions: { ready: true } } ]
        """;

    internal static readonly WatchTimings FastTimings = new()
    {
        BackoffMin = TimeSpan.FromMilliseconds(50),
        BackoffMax = TimeSpan.FromMilliseconds(400),
        WatchTimeoutSeconds = 3,
        Debounce = TimeSpan.FromMilliseconds(100),
    };

    internal static JsonObject Slice(string name, int port, bool ready = true, bool terminating = false) => new()
    {
        ["apiVersion"] = "discovery.k8s.io/v1",
        ["kind"] = "EndpointSlice",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = "default",
            ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = "svc-foo" },
        },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port }),
        ["endpoints"] = new JsonArray(new JsonObject
        {
            ["addresses"] = new JsonArray("127.0.0.1"),
            ["conditions"] = new JsonObject { ["ready"] = ready, ["terminating"] = terminating },
        }),
    };

    /// <summary>Sends requests on a few HTTP/1.1 and h2c clients until stopped (at most 20,000 each), counting answers by pod.</summary>
    private sealed class Traffic
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _workers = [];
        public long Ok;
        public readonly List<string> Failures = [];
        public volatile string Last = "";

        public Traffic(IPEndPoint proxy)
        {
            for (int i = 0; i < 4; i++)
            {
                var client = IngressHarness.Client(proxy, version: i % 2 == 0 ? HttpVersion.Version11 : HttpVersion.Version20);
                _workers.Add(Task.Run(async () =>
                {
                    using var _ = client;
                    for (int n = 0; n < 20_000 && !_stop.IsCancellationRequested; n++)
                    {
                        try
                        {
                            using var response = await client.GetAsync("http://web.example.com/x");
                            var body = await response.Content.ReadAsStringAsync();
                            if (response.StatusCode == HttpStatusCode.OK)
                            {
                                Interlocked.Increment(ref Ok);
                                Last = body.Split(' ')[0];
                            }
                            else lock (Failures) Failures.Add($"{(int)response.StatusCode} {body}");
                        }
                        catch (HttpRequestException e)
                        {
                            lock (Failures) Failures.Add(e.Message);
                        }
                    }
                }));
            }
        }

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task Watch_follows_changes_under_traffic_with_zero_failed_requests()
    {
        await using var pods = await PodOrigins.StartAsync("pod-a", "pod-b", "pod-c");
        await using var api = await FakeKubeApi.StartAsync();
        api.Load(Cluster, o =>
        {
            if (o["kind"]!.GetValue<string>() == "EndpointSlice") o["ports"]![0]!["port"] = pods.PortOf("pod-a");
        });
        var dir = IngressHarness.NewStateDirectory();
        await using var host = ProxyHost.Start(IngressHarness.BaseConfig());
        using var kube = new KubeApi(new KubeConnection { Server = api.Url });
        var controller = new IngressController(kube, host, IngressHarness.BaseConfig(), new IngressOptions { StateDirectory = dir }, FastTimings);
        await using var _ = controller;
        controller.Start();
        await Wait.UntilAsync(() => controller.Applied >= 1, "the first translation applied", TimeSpan.FromSeconds(20));

        var traffic = new Traffic(host.EndPoints["web"]);
        try
        {
            await Wait.UntilAsync(() => traffic.Last == "pod-a", "traffic reaching pod-a", TimeSpan.FromSeconds(20));

            // A second pod becomes ready, then the first one terminates: traffic moves over.
            api.Put(Slice("svc-foo-b", pods.PortOf("pod-b")));
            api.Put(Slice("svc-foo-a", pods.PortOf("pod-a"), ready: false, terminating: true));
            await Wait.UntilAsync(() => Served(controller) == "127.0.0.1:" + pods.PortOf("pod-b"), "only pod-b serving", TimeSpan.FromSeconds(20));
            await WaitOnlyAsync(traffic, "pod-b");

            // The watch connections drop: resumed from the last resourceVersion (no new list), and the next change lands.
            int lists = api.ListRequests;
            api.DropWatches();
            api.Put(Slice("svc-foo-c", pods.PortOf("pod-c")));
            api.Delete("EndpointSlice", "default/svc-foo-b");
            await Wait.UntilAsync(() => Served(controller) == "127.0.0.1:" + pods.PortOf("pod-c"), "pod-c after the dropped watch", TimeSpan.FromSeconds(20));
            Assert.Equal(lists, api.ListRequests);
            await WaitOnlyAsync(traffic, "pod-c");

            // History compacted: the next watch from an old version gets 410 Gone and the watchers list again.
            api.Compact();
            api.DropWatches();
            api.Put(Slice("svc-foo-b", pods.PortOf("pod-b")));
            api.Delete("EndpointSlice", "default/svc-foo-c");
            await Wait.UntilAsync(() => Served(controller) == "127.0.0.1:" + pods.PortOf("pod-b"), "pod-b after 410 Gone", TimeSpan.FromSeconds(20));
            Assert.True(api.GoneSent > 0, "no 410 was sent");
            Assert.True(api.ListRequests > lists, "no list after 410");
            await WaitOnlyAsync(traffic, "pod-b");

            // The API server goes down: the proxy goes on serving what it knew, and picks up changes once it is back.
            api.Down = true;
            api.DropWatches();
            long okBefore = Interlocked.Read(ref traffic.Ok);
            await Wait.UntilAsync(() => Interlocked.Read(ref traffic.Ok) > okBefore + 50, "traffic while the API server is down", TimeSpan.FromSeconds(20));
            api.Down = false;
            api.Put(Slice("svc-foo-a", pods.PortOf("pod-a")));
            api.Delete("EndpointSlice", "default/svc-foo-b");
            await Wait.UntilAsync(() => Served(controller) == "127.0.0.1:" + pods.PortOf("pod-a"), "pod-a after the outage", TimeSpan.FromSeconds(30));
            await WaitOnlyAsync(traffic, "pod-a");
        }
        finally
        {
            await traffic.StopAsync();
        }
        Assert.Empty(traffic.Failures);
        Assert.True(traffic.Ok > 100, $"only {traffic.Ok} requests");
    }

    /// <summary>The servers of svc-foo's upstream in the configuration serving now.</summary>
    private static string Served(IngressController controller)
        => controller.Serving?.Config.FindUpstream("default/svc-foo:80") is { } upstream ? string.Join(",", upstream.Servers.Select(s => s.Address)) : "";

    /// <summary>Waits until 20 answers in a row come from <paramref name="pod"/> (connections opened before the change are recycled within a second).</summary>
    private static async Task WaitOnlyAsync(Traffic traffic, string pod)
    {
        int inARow = 0;
        await Wait.UntilAsync(() =>
        {
            inARow = traffic.Last == pod ? inARow + 1 : 0;
            return inARow >= 20;
        }, $"answers only from {pod}", TimeSpan.FromSeconds(20));
    }
}
