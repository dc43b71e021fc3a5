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
    private static readonly string Cluster = IngressHarness.WebCluster();

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
        api.Load(Cluster);
        api.Put(KubeObjects.EndpointSlice("svc-foo-a", pods.PortOf("pod-a")));
        await using var rig = IngressRig.Start(api);
        var (host, controller) = (rig.Host, rig.Controller);
        await Wait.UntilAsync(() => controller.Applied >= 1, "the first translation applied", TimeSpan.FromSeconds(20));

        var traffic = new Traffic(host.EndPoints["web"]);
        try
        {
            await Wait.UntilAsync(() => traffic.Last == "pod-a", "traffic reaching pod-a", TimeSpan.FromSeconds(20));

            // A second pod becomes ready, then the first one terminates: traffic moves over.
            api.Put(KubeObjects.EndpointSlice("svc-foo-b", pods.PortOf("pod-b")));
            api.Put(KubeObjects.EndpointSlice("svc-foo-a", pods.PortOf("pod-a"), ready: false, terminating: true));
            await Wait.UntilAsync(() => Served(controller) == "127.0.0.1:" + pods.PortOf("pod-b"), "only pod-b serving", TimeSpan.FromSeconds(20));
            await WaitOnlyAsync(traffic, "pod-b");

            // The watch connections drop: resumed from the last resourceVersion (no new list), and the next change lands.
            int lists = api.ListRequests;
            api.DropWatches();
            api.Put(KubeObjects.EndpointSlice("svc-foo-c", pods.PortOf("pod-c")));
            api.Delete("EndpointSlice", "default/svc-foo-b");
            await Wait.UntilAsync(() => Served(controller) == "127.0.0.1:" + pods.PortOf("pod-c"), "pod-c after the dropped watch", TimeSpan.FromSeconds(20));
            Assert.Equal(lists, api.ListRequests);
            await WaitOnlyAsync(traffic, "pod-c");

            // History compacted: the next watch from an old version gets 410 Gone and the watchers list again.
            api.Compact();
            api.DropWatches();
            api.Put(KubeObjects.EndpointSlice("svc-foo-b", pods.PortOf("pod-b")));
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
            api.Put(KubeObjects.EndpointSlice("svc-foo-a", pods.PortOf("pod-a")));
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
