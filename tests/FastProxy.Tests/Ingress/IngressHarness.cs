using System.Net.Http;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Configuration;
using FastProxy.Hosting;
using FastProxy.Ingress;
using FastProxy.Ingress.Model;
using FastProxy.Ingress.Yaml;
using FastProxy.Tests.Infrastructure;
using FastProxy.Kubernetes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FastProxy.Tests.Ingress;

/// <summary>Fixtures, loopback "pods" and the controller's base configuration for the ingress tests.</summary>
internal static class IngressHarness
{
    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Ingress", "fixtures", name);

    public static ClusterState Load(string fixture) => ClusterState.From(KubeYaml.ReadObjects(File.ReadAllText(FixturePath(fixture))));

    /// <summary>The controller's own proxy.toml in the tests: an http listener "web", an https listener, one named policy.</summary>
    public const string BaseToml = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[listeners]]
        name = "https"
        bind = "127.0.0.1:0"

        [policies.tagged]
        type = "headers"
        response = { set = { "x-tagged" = "yes" } }
        """;

    /// <summary>The cluster most ingress tests start from: class fastproxy, Ingress default/web for web.example.com to svc-foo:80, and svc-foo; then <paramref name="more"/>.</summary>
    public static string WebCluster(params string[] more)
        => KubeObjects.Cluster([KubeObjects.IngressClass(), KubeObjects.Ingress("web", "web.example.com"), KubeObjects.Service(), .. more]);

    public static ProxyConfig BaseConfig(string toml = BaseToml)
    {
        var loaded = ConfigLoader.Parse(toml, "proxy.toml", AppContext.BaseDirectory);
        return loaded.Config ?? throw new InvalidOperationException(string.Join("\n", loaded.Errors));
    }

    public static string NewStateDirectory() => Path.Combine(Path.GetTempPath(), "fastproxy-ingress-test-" + Guid.NewGuid().ToString("N"));

    /// <summary>Points every EndpointSlice port at the pod origin of the slice's Service (names kept).</summary>
    public static void PointAt(ClusterState state, PodOrigins pods)
    {
        foreach (var slice in state.EndpointSlices.Values)
        {
            foreach (var port in slice.Ports ?? []) port.Port = pods.PortOf(slice.ServiceName!);
        }
    }

    /// <summary>A self-signed certificate for <paramref name="host"/> as a PEM pair.</summary>
    public static (byte[] Cert, byte[] Key, string Thumbprint) SelfSigned(string host)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(host);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return (System.Text.Encoding.ASCII.GetBytes(cert.ExportCertificatePem()), System.Text.Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem()), cert.Thumbprint);
    }

    /// <summary>A client that sends to the proxy's listener whatever the URL's host (the Host header stays the URL's).</summary>
    public static HttpClient Client(IPEndPoint proxy, Action<X509Certificate?>? onCertificate = null, Version? version = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(proxy, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => { onCertificate?.Invoke(cert); return true; },
            },
            PooledConnectionLifetime = TimeSpan.FromSeconds(1),
        };
        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        if (version is not null)
        {
            client.DefaultRequestVersion = version;
            client.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }
        return client;
    }
}

/// <summary>
/// Loopback "pods": one Kestrel with a port per Service name; each answers "SERVICE PATH" (the path and query the
/// upstream received) and counts its requests.
/// </summary>
internal sealed class PodOrigins : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<int, string> _byPort = [];
    private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);
    private long _requests;

    private PodOrigins(WebApplication app) => _app = app;

    public long Requests => Interlocked.Read(ref _requests);

    public static async Task<PodOrigins> StartAsync(params string[] services)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var holders = new List<(string Service, int Port)>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (var service in services)
            {
                var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                int port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                holders.Add((service, port));
                k.Listen(IPAddress.Loopback, port, o => o.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1AndHttp2);
            }
        });
        var app = builder.Build();
        var origins = new PodOrigins(app);
        foreach (var (service, port) in holders)
        {
            origins._byPort[port] = service;
            origins._ports[service] = port;
        }
        app.Run(async context =>
        {
            Interlocked.Increment(ref origins._requests);
            var service = origins._byPort[context.Connection.LocalPort];
            if (context.Request.Query.ContainsKey("slow")) await Task.Delay(200);
            await context.Response.WriteAsync($"{service} {context.Request.Path}{context.Request.QueryString}");
        });
        await app.StartAsync();
        return origins;
    }

    public int PortOf(string service) => _ports[service];

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// A controller serving what a <see cref="FakeKubeApi"/> holds, as the tests run it: its proxy (started with
/// <see cref="IngressHarness.BaseConfig"/>), its API client, fast watch timings and, for leader election, a status publisher.
/// </summary>
internal sealed class IngressRig : IAsyncDisposable
{
    public static readonly WatchTimings FastTimings = new()
    {
        BackoffMin = TimeSpan.FromMilliseconds(50),
        BackoffMax = TimeSpan.FromMilliseconds(400),
        WatchTimeoutSeconds = 3,
        Debounce = TimeSpan.FromMilliseconds(100),
    };

    public required ProxyHost Host { get; init; }
    public required KubeApi Api { get; init; }
    public required IngressController Controller { get; init; }
    public StatusPublisher? Status { get; init; }
    private bool _disposed;

    /// <summary>Starts the controller against <paramref name="fake"/>; <paramref name="status"/> makes its status publisher from the API client.</summary>
    public static IngressRig Start(FakeKubeApi fake, Func<KubeApi, StatusPublisher>? status = null)
    {
        var host = ProxyHost.Start(IngressHarness.BaseConfig());
        var api = new KubeApi(new KubeConnection { Server = fake.Url });
        var publisher = status?.Invoke(api);
        var controller = new IngressController(api, host, IngressHarness.BaseConfig(), new IngressOptions { StateDirectory = IngressHarness.NewStateDirectory() },
            FastTimings, publisher);
        controller.Start();
        return new IngressRig { Host = host, Api = api, Controller = controller, Status = publisher };
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await Controller.DisposeAsync();
        await Host.DisposeAsync();
        Api.Dispose();
    }
}
