using System.Net.Http;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Hosting;
using FastProxy.Ingress;
using FastProxy.Ingress.Model;

namespace FastProxy.Tests.Ingress;

/// <summary>
/// Ingress objects (YAML fixtures) to routes, checked by real requests through the proxy to loopback pods: the
/// conformance features (exact, prefix, host wildcard, default backend, TLS) and class selection.
/// </summary>
public sealed class IngressTranslationTests
{
    private static readonly string[] Services = ["svc-exact", "svc-root", "svc-foo", "svc-foobar", "svc-wild", "svc-default"];

    private sealed class Served : IAsyncDisposable
    {
        public required PodOrigins Pods;
        public required ProxyHost Host;
        public required TranslationResult Result;
        public required string StateDirectory;

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            await Pods.DisposeAsync();
            try { Directory.Delete(StateDirectory, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<Served> ServeAsync(string fixture, Action<ClusterState>? change = null)
    {
        var pods = await PodOrigins.StartAsync(Services);
        var state = IngressHarness.Load(fixture);
        IngressHarness.PointAt(state, pods);
        change?.Invoke(state);
        var dir = IngressHarness.NewStateDirectory();
        var translator = new IngressTranslator(new IngressOptions { StateDirectory = dir }, new SecretFiles(dir));
        var result = translator.Translate(state, IngressHarness.BaseConfig());
        return new Served { Pods = pods, Host = ProxyHost.Start(result.Config), Result = result, StateDirectory = dir };
    }

    private static async Task<string> GetAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        return response.StatusCode == HttpStatusCode.OK ? body.Split(' ')[0] : $"{(int)response.StatusCode}";
    }

    public static TheoryData<string, string> Decisions => new()
    {
        // Exact: the path itself only.
        { "http://exact.example.com/foo", "svc-exact" },
        { "http://exact.example.com/foo/", "svc-default" },
        { "http://exact.example.com/foobar", "svc-default" },
        // Prefix by element, longest first, Exact before Prefix at equal length, trailing slash ignored in the rule.
        { "http://prefix.example.com/foo", "svc-exact" },
        { "http://prefix.example.com/foo/", "svc-foo" },
        { "http://prefix.example.com/foo/x", "svc-foo" },
        { "http://prefix.example.com/foobar", "svc-root" },
        { "http://prefix.example.com/foo/bar", "svc-foobar" },
        { "http://prefix.example.com/foo/bar/", "svc-foobar" },
        { "http://prefix.example.com/foo/bar/baz", "svc-foobar" },
        { "http://prefix.example.com/foo/barbaz", "svc-foo" },
        { "http://prefix.example.com/", "svc-root" },
        { "http://prefix.example.com/impl/x", "svc-foobar" },
        // Host wildcard: one label deep; an exact host beats the wildcard.
        { "http://a.wild.example.com/x", "svc-wild" },
        { "http://exact.wild.example.com/x", "svc-exact" },
        { "http://a.b.wild.example.com/x", "svc-default" },
        { "http://wild.example.com/x", "svc-default" },
        // Class selection: the legacy annotation is ours, another controller's class is not.
        { "http://legacy.example.com/", "svc-foo" },
        { "http://theirs.example.com/", "svc-default" },
        // Default backend for everything else; host compared case-insensitively.
        { "http://unknown.example.com/anything", "svc-default" },
        { "http://PREFIX.example.com/foo/x", "svc-foo" },
    };

    [Theory]
    [MemberData(nameof(Decisions))]
    public async Task Conformance_routing_over_http1_and_h2c(string url, string expected)
    {
        await using var served = await ServeAsync("conformance.yaml");
        var web = served.Host.EndPoints["web"];
        using var http1 = IngressHarness.Client(web);
        using var h2c = IngressHarness.Client(web, version: HttpVersion.Version20);
        Assert.Equal(expected, await GetAsync(http1, url));
        Assert.Equal(expected, await GetAsync(h2c, url));
    }

    [Fact]
    public async Task Only_ready_endpoints_take_traffic()
    {
        await using var served = await ServeAsync("conformance.yaml");
        // svc-foo has one ready endpoint, one terminating (127.0.0.3) and one not ready (127.0.0.4), nobody listening at either.
        Assert.Single(served.Result.Config.FindUpstream("default/svc-foo:80")!.Servers);
        using var client = IngressHarness.Client(served.Host.EndPoints["web"]);
        for (int i = 0; i < 10; i++) Assert.Equal("svc-foo", await GetAsync(client, "http://legacy.example.com/" + i));
    }

    [Fact]
    public async Task Ingresses_of_other_classes_are_not_served()
    {
        await using var served = await ServeAsync("conformance.yaml");
        Assert.Equal(["default/exact", "default/prefix", "default/wildcard", "default/fallback", "default/legacy", "default/secure"], served.Result.ServedIngresses);
        Assert.All(served.Result.Problems, p => Assert.Equal("InvalidTls", p.Reason)); // the fixture's Secret is empty
    }

    [Fact]
    public async Task Without_a_default_class_an_Ingress_without_class_is_not_ours()
    {
        await using var served = await ServeAsync("conformance.yaml", state => state.IngressClasses["fastproxy"].Metadata.Annotations = null);
        Assert.DoesNotContain("default/fallback", served.Result.ServedIngresses);
        using var client = IngressHarness.Client(served.Host.EndPoints["web"]);
        Assert.Equal("404", await GetAsync(client, "http://unknown.example.com/"));
    }

    [Fact]
    public async Task Tls_secrets_are_served_by_sni_over_http1_and_h2()
    {
        var (cert, key, thumbprint) = IngressHarness.SelfSigned("tls.example.com");
        var fallback = IngressHarness.SelfSigned("default.invalid");
        var dir = IngressHarness.NewStateDirectory();
        Directory.CreateDirectory(dir);
        var fallbackCert = Path.Combine(dir, "..", Path.GetFileName(dir) + "-default.crt");
        var fallbackKey = fallbackCert[..^4] + ".key";
        File.WriteAllBytes(fallbackCert, fallback.Cert);
        File.WriteAllBytes(fallbackKey, fallback.Key);
        await using var pods = await PodOrigins.StartAsync(Services);
        var state = IngressHarness.Load("conformance.yaml");
        IngressHarness.PointAt(state, pods);
        state.Secrets["default/tls-cert"].Data = new() { ["tls.crt"] = cert, ["tls.key"] = key };
        var translator = new IngressTranslator(new IngressOptions { StateDirectory = dir, DefaultCertificate = (fallbackCert, fallbackKey) }, new SecretFiles(dir));
        var result = translator.Translate(state, IngressHarness.BaseConfig());
        Assert.Empty(result.Problems);
        await using var host = ProxyHost.Start(result.Config);
        var https = host.EndPoints["https"];
        foreach (var version in new[] { HttpVersion.Version11, HttpVersion.Version20 })
        {
            X509Certificate? seen = null;
            using var client = IngressHarness.Client(https, c => seen = c is null ? null : new X509Certificate2(c), version);
            using (var response = await client.GetAsync("https://tls.example.com/x"))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(version, response.Version);
                Assert.StartsWith("svc-foo ", await response.Content.ReadAsStringAsync());
            }
            Assert.Equal(thumbprint, ((X509Certificate2)seen!).Thumbprint);
            // Another name gets the default certificate.
            using (await client.GetAsync("https://other.example.com/x")) { }
            Assert.Equal(fallback.Thumbprint, ((X509Certificate2)seen!).Thumbprint);
        }
        File.Delete(fallbackCert);
        File.Delete(fallbackKey);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_bad_tls_secret_is_reported_and_the_rest_is_served()
    {
        // The fixture's Secret is empty: not a certificate.
        await using var served = await ServeAsync("conformance.yaml");
        var problem = Assert.Single(served.Result.Problems, p => p.Reason == "InvalidTls");
        Assert.Equal("default/secure", problem.IngressKey);
        Assert.False(problem.Skipped);
        using var client = IngressHarness.Client(served.Host.EndPoints["web"]);
        Assert.Equal("svc-foo", await GetAsync(client, "http://tls.example.com/"));
    }
}
