using System.Reflection;
using FastProxy.Configuration;
using FastProxy.Ingress;
using FastProxy.Kubernetes;

namespace FastProxy.Tests.Ingress;

/// <summary>The pieces of the controller that need no socket: config copies, kubeconfig files, the command line.</summary>
public sealed class IngressUnitTests
{
    /// <summary>A member added to ProxyConfig or ListenerConfig and not copied would silently vanish under the controller.</summary>
    [Fact]
    public void Config_copies_keep_every_member()
    {
        var config = IngressHarness.BaseConfig(IngressHarness.BaseToml + "\n[admin]\nbind = \"127.0.0.1:0\"\n");
        var copy = ConfigCopy.With(config, config.Listeners, [], [], []);
        foreach (var property in typeof(ProxyConfig).GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            if (property.Name is nameof(ProxyConfig.Routes) or nameof(ProxyConfig.Upstreams) or nameof(ProxyConfig.Policies)) continue;
            Assert.True(Equals(property.GetValue(config), property.GetValue(copy)), $"ProxyConfig.{property.Name} is not copied by ConfigCopy.With");
        }
        var listener = config.Listeners[0];
        var listenerCopy = ConfigCopy.WithTls(listener, listener.Tls);
        foreach (var property in typeof(ListenerConfig).GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            Assert.True(Equals(property.GetValue(listener), property.GetValue(listenerCopy)), $"ListenerConfig.{property.Name} is not copied by ConfigCopy.WithTls");
    }

    [Fact]
    public void Kubeconfig_current_context_with_token_and_ca()
    {
        var (cert, _, _) = IngressHarness.SelfSigned("kubernetes");
        var dir = IngressHarness.NewStateDirectory();
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "ca.crt"), cert);
        var path = Path.Combine(dir, "config");
        File.WriteAllText(path, """
            apiVersion: v1
            kind: Config
            current-context: dev
            clusters:
            - name: other
              cluster: { server: "https://other.invalid:6443" }
            - name: dev-cluster
              cluster:
                server: https://10.1.2.3:6443
                certificate-authority: ca.crt
            contexts:
            - name: prod
              context: { cluster: other, user: nobody }
            - name: dev
              context: { cluster: dev-cluster, user: dev-user, namespace: ingress }
            users:
            - name: dev-user
              user: { token: abc.def }
            """);
        var connection = KubeConnection.FromKubeconfig(path);
        Assert.Equal(new Uri("https://10.1.2.3:6443"), connection.Server);
        Assert.Equal("abc.def", connection.Token);
        Assert.Equal("ingress", connection.Namespace);
        Assert.Single(connection.Ca!);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Kubeconfig_problems_are_named()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".yaml");
        File.WriteAllText(path, "apiVersion: v1\ncurrent-context: gone\ncontexts: []\n");
        var e = Assert.Throws<KubeConfigException>(() => KubeConnection.FromKubeconfig(path));
        Assert.Contains("no context \"gone\"", e.Message);
        File.Delete(path);
    }

    [Fact]
    public void Command_line()
    {
        var error = new StringWriter();
        var parsed = IngressCommand.Parse(["--ingress-class", "edge", "--publish-service", "ingress/fastproxy", "-c", "x.toml"], error);
        Assert.NotNull(parsed);
        Assert.Equal("edge", parsed.IngressClass);
        Assert.Equal("ingress/fastproxy", parsed.PublishService);
        Assert.Null(IngressCommand.Parse(["--publish-service", "nonamespace"], error));
        Assert.Null(IngressCommand.Parse(["--publish-service", "a/b", "--publish-address", "1.2.3.4"], error));
        Assert.Null(IngressCommand.Parse(["--nope", "x"], error));
    }
}
