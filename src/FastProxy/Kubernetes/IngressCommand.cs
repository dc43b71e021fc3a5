using System.Net.Http;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Ingress;
using Microsoft.Extensions.Logging;

namespace FastProxy.Kubernetes;

/// <summary>`fastproxy ingress [flags]`: the command line of the ingress controller (docs/kubernetes.md).</summary>
internal static class IngressCommand
{
    public const string Usage = """
        usage: fastproxy ingress [-c FILE] [--ingress-class NAME] [--kubeconfig FILE]
                                 [--publish-service NAMESPACE/NAME | --publish-address ADDRESS[,ADDRESS...]]
                                 [--election-id NAME] [--election-namespace NAMESPACE]
                                 [--https-listener NAME] [--state-dir DIR]
          -c FILE               the controller's own proxy.toml: listeners, admin, [policies.NAME] for annotations (default ./proxy.toml)
          --ingress-class NAME  the IngressClass served (default fastproxy; also any class whose controller is fastproxy.io/ingress-controller)
          --kubeconfig FILE     talk to the cluster of FILE's current context (default: in-cluster service account)
          --publish-service     write this Service's load-balancer addresses into the Ingresses' status
          --publish-address     write these addresses (IPs or host names) into the Ingresses' status
          --election-id NAME    the Lease the replicas elect the status writer with (default fastproxy-ingress-leader)
          --election-namespace  the Lease's namespace (default: the pod's or the context's namespace)
          --https-listener NAME the listener that serves the Ingresses' certificates by SNI (default https)
          --state-dir DIR       where certificates and htpasswd lists from Secrets are written (default $TMPDIR/fastproxy-ingress)
        """;

    internal sealed class Arguments
    {
        public string ConfigPath = "proxy.toml";
        public string IngressClass = "fastproxy";
        public string? Kubeconfig;
        public string? PublishService;
        public List<string>? PublishAddresses;
        public string ElectionId = "fastproxy-ingress-leader";
        public string? ElectionNamespace;
        public string HttpsListener = "https";
        public string StateDirectory = Path.Combine(Path.GetTempPath(), "fastproxy-ingress");
        public bool Help;
    }

    /// <summary>Null (with a message on stderr) when the command line is wrong.</summary>
    internal static Arguments? Parse(ReadOnlySpan<string> args, TextWriter error)
    {
        var parsed = new Arguments();
        for (int i = 0; i < args.Length; i++)
        {
            string flag = args[i];
            if (flag is "-h" or "--help")
            {
                parsed.Help = true;
                return parsed;
            }
            if (i + 1 == args.Length || args[i + 1].Length == 0)
            {
                error.WriteLine($"fastproxy ingress: {(flag.StartsWith('-') ? $"{flag} needs a value" : $"unknown argument \"{flag}\"")}");
                error.WriteLine(Usage);
                return null;
            }
            string value = args[++i];
            switch (flag)
            {
                case "-c" or "--config": parsed.ConfigPath = value; break;
                case "--ingress-class": parsed.IngressClass = value; break;
                case "--kubeconfig": parsed.Kubeconfig = value; break;
                case "--publish-service":
                    if (value.Split('/') is not [{ Length: > 0 }, { Length: > 0 }])
                    {
                        error.WriteLine($"fastproxy ingress: --publish-service \"{value}\": write NAMESPACE/NAME");
                        return null;
                    }
                    parsed.PublishService = value;
                    break;
                case "--publish-address": parsed.PublishAddresses = [.. value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]; break;
                case "--election-id": parsed.ElectionId = value; break;
                case "--election-namespace": parsed.ElectionNamespace = value; break;
                case "--https-listener": parsed.HttpsListener = value; break;
                case "--state-dir": parsed.StateDirectory = value; break;
                default:
                    error.WriteLine($"fastproxy ingress: unknown argument \"{flag}\"");
                    error.WriteLine(Usage);
                    return null;
            }
        }
        if (parsed.PublishService is not null && parsed.PublishAddresses is not null)
        {
            error.WriteLine("fastproxy ingress: give --publish-service or --publish-address, not both");
            return null;
        }
        return parsed;
    }

    public static int Run(ReadOnlySpan<string> args, LogLevel level)
    {
        var parsed = Parse(args, Console.Error);
        if (parsed is null) return Program.ExitBadConfig;
        if (parsed.Help)
        {
            Console.Out.WriteLine(Usage);
            return Program.ExitOk;
        }
        Log.Logger = new StderrLogger(level);

        var loaded = ConfigLoader.Load(parsed.ConfigPath);
        if (loaded.Config is null)
        {
            foreach (var error in loaded.Errors) Console.Error.WriteLine(error);
            return Program.ExitBadConfig;
        }
        KubeConnection connection;
        try
        {
            connection = parsed.Kubeconfig is null ? KubeConnection.InCluster() : KubeConnection.FromKubeconfig(parsed.Kubeconfig);
        }
        catch (Exception e) when (e is KubeConfigException or CryptographicException or FormatException or IOException)
        {
            Console.Error.WriteLine($"fastproxy ingress: {e.Message}");
            return Program.ExitBadConfig;
        }

        var options = Options(parsed);
        ProxyHost host;
        try
        {
            // Until every kind is listed: the file's routes, and the https listener already on the default certificate.
            var initial = new IngressTranslator(options, new SecretFiles(options.StateDirectory)).Translate(new ClusterState(), loaded.Config).Config;
            host = ProxyHost.Start(initial);
        }
        catch (ProxyStartException ex)
        {
            foreach (var problem in ex.Problems) Console.Error.WriteLine(problem);
            return Program.ExitBadConfig;
        }
        catch (Transport.ListenerBindException ex)
        {
            Console.Error.WriteLine($"{parsed.ConfigPath}: {ex.Message}");
            return Program.ExitStartFailed;
        }

        using var api = new KubeApi(connection);
        var identity = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod : $"{Environment.MachineName}-{Environment.ProcessId}";
        var status = new StatusPublisher(api, identity, parsed.ElectionNamespace ?? connection.Namespace, parsed.ElectionId,
            parsed.PublishAddresses, parsed.PublishService, new ElectionTimings());
        var controller = new IngressController(api, host, loaded.Config, options, new WatchTimings(),
            parsed.PublishAddresses is null && parsed.PublishService is null ? null : status);
        controller.Start();
        Log.IngressWatch("controller", $"watching {connection.Server} for class \"{parsed.IngressClass}\" as {identity}");

        var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult("SIGTERM"); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult("SIGINT"); });
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            ThreadPool.QueueUserWorkItem(_ =>
            {
                var again = ConfigLoader.Load(parsed.ConfigPath);
                if (again.Config is null) Log.ReloadRefused(string.Join("; ", again.Errors));
                else controller.ReloadBase(again.Config);
            });
        });
        stop.Task.Wait();
        controller.DisposeAsync().AsTask().GetAwaiter().GetResult();
        int abandoned = host.StopAsync(host.Config.Global.ShutdownTimeout).GetAwaiter().GetResult();
        Log.Stopped(abandoned);
        host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return Program.ExitOk;
    }

    internal static IngressOptions Options(Arguments parsed) => new()
    {
        IngressClass = parsed.IngressClass,
        HttpsListener = parsed.HttpsListener,
        StateDirectory = parsed.StateDirectory,
        DefaultCertificate = DefaultCertificate(Path.Combine(parsed.StateDirectory, "default")),
    };

    /// <summary>
    /// A self-signed certificate for the https listener when the proxy.toml gives none, so that the listener speaks TLS
    /// before the first TLS Secret comes (as ingress-nginx's "fake certificate"). Made once per process.
    /// </summary>
    internal static (string Cert, string Key) DefaultCertificate(string directory)
    {
        Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=FastProxy Ingress Default Certificate", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("ingress.local");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var certPath = Path.Combine(directory, "default.crt");
        var keyPath = Path.Combine(directory, "default.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(keyPath, options))
        using (var writer = new StreamWriter(stream)) writer.Write(key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }
}
