using System.Net;
using System.Net.Http;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Ingress;

/// <summary>`fastproxy ingress` as the native AOT binary, with --kubeconfig pointing at the API stand-in.</summary>
public sealed class IngressBinaryTests
{
    private static readonly string Cluster = KubeObjects.Cluster(
        KubeObjects.IngressClass("edge", "example.com/other"),
        KubeObjects.Ingress("web", "web.example.com", ingressClass: "edge"),
        KubeObjects.Service());

    [Fact]
    public async Task The_binary_serves_the_cluster_of_its_kubeconfig_and_writes_status()
    {
        await using var pods = await PodOrigins.StartAsync("svc-foo");
        await using var fake = await FakeKubeApi.StartAsync();
        fake.Load(Cluster);
        fake.Put(KubeObjects.EndpointSlice("svc-foo-1", pods.PortOf("svc-foo")));
        var dir = IngressHarness.NewStateDirectory();
        Directory.CreateDirectory(dir);
        var kubeconfig = Path.Combine(dir, "kubeconfig");
        File.WriteAllText(kubeconfig, $$"""
            apiVersion: v1
            kind: Config
            current-context: test
            clusters: [ { name: fake, cluster: { server: "{{fake.Url.ToString().TrimEnd('/')}}" } } ]
            contexts: [ { name: test, context: { cluster: fake, user: me, namespace: ingress } } ]
            users: [ { name: me, user: { token: t0ken } } ]
            """);
        int port = ProxyProcess.FreePort();
        var toml = Path.Combine(dir, "proxy.toml");
        File.WriteAllText(toml, $"[[listeners]]\nname = \"web\"\nbind = \"127.0.0.1:{port}\"\n");
        await using var proxy = ProxyProcess.Start("ingress", "-c", toml, "--kubeconfig", kubeconfig, "--ingress-class", "edge",
            "--publish-address", "192.0.2.1", "--state-dir", Path.Combine(dir, "state"));
        await proxy.WaitForPortAsync(port);
        using var client = IngressHarness.Client(new IPEndPoint(IPAddress.Loopback, port));
        string? body = null;
        await Wait.UntilAsync(() =>
        {
            using var response = client.GetAsync("http://web.example.com/hello").GetAwaiter().GetResult();
            body = response.StatusCode == HttpStatusCode.OK ? response.Content.ReadAsStringAsync().GetAwaiter().GetResult() : null;
            return body is not null;
        }, "the Ingress served by the binary\n" + proxy.StdErr, TimeSpan.FromSeconds(30));
        Assert.Equal("svc-foo /hello", body);
        await Wait.UntilAsync(() => fake.Get("Ingress", "default/web")["status"]?["loadBalancer"]?["ingress"]?[0]?["ip"]?.GetValue<string>() == "192.0.2.1",
            "the status written", TimeSpan.FromSeconds(30));
        await proxy.SignalAsync("TERM");
        Assert.Equal(0, await proxy.WaitForExitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("serving 1 Ingress(es)", proxy.StdErr);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Help_and_bad_flags()
    {
        var help = await Processes.RunAsync(ProxyProcess.BinaryPath, ["ingress", "--help"], TimeSpan.FromSeconds(20));
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--publish-service", help.StdOut);
        var bad = await Processes.RunAsync(ProxyProcess.BinaryPath, ["ingress", "--publish-service", "nonamespace"], TimeSpan.FromSeconds(20));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("NAMESPACE/NAME", bad.StdErr);
        var notInCluster = await Processes.RunAsync(ProxyProcess.BinaryPath, ["ingress", "-c", Path.Combine(Processes.RepoRoot, "proxy.toml")], TimeSpan.FromSeconds(20));
        Assert.Equal(2, notInCluster.ExitCode);
        Assert.Contains("KUBERNETES_SERVICE_HOST", notInCluster.StdErr);
    }
}
