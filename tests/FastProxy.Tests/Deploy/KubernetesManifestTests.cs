using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Ingress;
using FastProxy.Ingress.Yaml;

namespace FastProxy.Tests.Deploy;

/// <summary>
/// deploy/kubernetes/ parsed and checked (kubectl apply --dry-run=client needs an API server for discovery, even
/// with --validate=false, so it cannot run here): the kinds are there, the RBAC is read-only except Ingress status,
/// Events and the Lease, the IngressClass names this controller, and the ConfigMap's proxy.toml loads.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static string Folder()
    {
        var dir = AppContext.BaseDirectory;
        while (!Directory.Exists(Path.Combine(dir, "deploy", "kubernetes"))) dir = Path.GetDirectoryName(dir) ?? throw new DirectoryNotFoundException("deploy/kubernetes");
        return Path.Combine(dir, "deploy", "kubernetes");
    }

    private static List<JsonElement> Objects()
    {
        var list = new List<JsonElement>();
        foreach (var file in Directory.GetFiles(Folder(), "*.yaml").Order())
        {
            foreach (var json in KubeYaml.ToJson(File.ReadAllText(file))) list.Add(JsonDocument.Parse(json).RootElement);
        }
        return list;
    }

    private static string Kind(JsonElement e) => e.GetProperty("kind").GetString()!;

    [Fact]
    public void Every_piece_is_there()
    {
        var kinds = Objects().Select(Kind).ToList();
        foreach (var kind in new[] { "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "IngressClass", "ConfigMap", "Deployment", "Service" })
            Assert.Contains(kind, kinds);
        foreach (var obj in Objects())
        {
            Assert.False(string.IsNullOrEmpty(obj.GetProperty("apiVersion").GetString()));
            Assert.False(string.IsNullOrEmpty(obj.GetProperty("metadata").GetProperty("name").GetString()));
        }
    }

    [Fact]
    public void Rbac_reads_what_is_watched_and_writes_only_status_events_and_the_lease()
    {
        var writes = new HashSet<string>();
        foreach (var role in Objects().Where(o => Kind(o) is "ClusterRole" or "Role"))
        {
            foreach (var rule in role.GetProperty("rules").EnumerateArray())
            {
                var verbs = rule.GetProperty("verbs").EnumerateArray().Select(v => v.GetString()!).ToList();
                Assert.DoesNotContain("*", verbs);
                Assert.DoesNotContain("delete", verbs);
                foreach (var resource in rule.GetProperty("resources").EnumerateArray().Select(r => r.GetString()!))
                {
                    Assert.NotEqual("*", resource);
                    if (verbs.Any(v => v is not ("get" or "list" or "watch"))) writes.Add(resource);
                }
            }
        }
        Assert.Equal(["events", "ingresses/status", "leases"], writes.Order());
        var clusterRole = Objects().Single(o => Kind(o) == "ClusterRole");
        var watched = clusterRole.GetProperty("rules").EnumerateArray()
            .Where(r => r.GetProperty("verbs").EnumerateArray().Any(v => v.GetString() == "watch"))
            .SelectMany(r => r.GetProperty("resources").EnumerateArray().Select(x => x.GetString()!)).Order();
        Assert.Equal(["endpointslices", "ingressclasses", "ingresses", "secrets", "services"], watched);
    }

    [Fact]
    public void The_class_the_config_and_the_deployment_agree()
    {
        var objects = Objects();
        var ingressClass = objects.Single(o => Kind(o) == "IngressClass");
        Assert.Equal(IngressOptions.ControllerName, ingressClass.GetProperty("spec").GetProperty("controller").GetString());
        var toml = objects.Single(o => Kind(o) == "ConfigMap").GetProperty("data").GetProperty("proxy.toml").GetString()!;
        var loaded = ConfigLoader.Parse(toml, "proxy.toml", AppContext.BaseDirectory);
        Assert.True(loaded.Config is not null, string.Join("\n", loaded.Errors));
        Assert.Contains(loaded.Config.Listeners, l => l.Name == "https");
        var container = objects.Single(o => Kind(o) == "Deployment").GetProperty("spec").GetProperty("template").GetProperty("spec")
            .GetProperty("containers")[0];
        var args = container.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList();
        Assert.Equal("ingress", args[0]);
        Assert.NotNull(FastProxy.Kubernetes.IngressCommand.Parse(args.Skip(1).ToArray(), new StringWriter()));
        Assert.Contains(ingressClass.GetProperty("metadata").GetProperty("name").GetString()!, args);
    }
}
