using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using FastProxy.Ingress.Yaml;

namespace FastProxy.Kubernetes;

/// <summary>
/// Where the API server is and how to prove who we are: in-cluster (the pod's service account) or a kubeconfig file
/// (its current context). Only what a controller needs: a server URL, a CA, and a bearer token or a client certificate.
/// </summary>
internal sealed class KubeConnection
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    public required Uri Server { get; init; }
    /// <summary>Trusted roots for the server's certificate; null: the system store.</summary>
    public X509Certificate2Collection? Ca { get; init; }
    public bool InsecureSkipVerify { get; init; }
    /// <summary>A fixed bearer token; see also <see cref="TokenFile"/>.</summary>
    public string? Token { get; init; }
    /// <summary>A token file read again every minute (projected service-account tokens rotate).</summary>
    public string? TokenFile { get; init; }
    public X509Certificate2? ClientCertificate { get; init; }
    /// <summary>The namespace of the context or the pod (the Lease's default namespace).</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>KUBERNETES_SERVICE_HOST/PORT and the service account's token, CA and namespace.</summary>
    public static KubeConnection InCluster(string directory = ServiceAccountDirectory)
    {
        var host = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
        var port = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
            throw new KubeConfigException("not in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (give --kubeconfig FILE)");
        var tokenFile = Path.Combine(directory, "token");
        if (!File.Exists(tokenFile)) throw new KubeConfigException($"not in a cluster: no service account token at {tokenFile}");
        var ca = new X509Certificate2Collection();
        var caFile = Path.Combine(directory, "ca.crt");
        if (File.Exists(caFile)) ca.ImportFromPemFile(caFile);
        var nsFile = Path.Combine(directory, "namespace");
        var hostPart = host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host;
        return new KubeConnection
        {
            Server = new Uri($"https://{hostPart}:{port}"),
            Ca = ca.Count > 0 ? ca : null,
            TokenFile = tokenFile,
            Namespace = File.Exists(nsFile) ? File.ReadAllText(nsFile).Trim() : "default",
        };
    }

    /// <summary>The current context of a kubeconfig file (YAML or JSON); relative file names are relative to it.</summary>
    public static KubeConnection FromKubeconfig(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KubeConfigException($"{path}: {e.Message}");
        }
        var documents = KubeYaml.ToJson(text);
        if (documents.Count == 0) throw new KubeConfigException($"{path}: empty");
        using var json = JsonDocument.Parse(documents[0]);
        var root = json.RootElement;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var contextName = Str(root, "current-context") ?? throw new KubeConfigException($"{path}: no current-context");
        var context = Named(root, "contexts", contextName, "context") ?? throw new KubeConfigException($"{path}: no context \"{contextName}\"");
        var clusterName = Str(context, "cluster") ?? throw new KubeConfigException($"{path}: context \"{contextName}\" names no cluster");
        var cluster = Named(root, "clusters", clusterName, "cluster") ?? throw new KubeConfigException($"{path}: no cluster \"{clusterName}\"");
        var server = Str(cluster, "server") ?? throw new KubeConfigException($"{path}: cluster \"{clusterName}\" has no server");
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            throw new KubeConfigException($"{path}: cluster \"{clusterName}\": server \"{server}\" is not an http(s) URL");

        X509Certificate2Collection? ca = null;
        if (Bytes(cluster, "certificate-authority-data", "certificate-authority", dir) is { } caPem)
        {
            ca = [];
            ca.ImportFromPem(System.Text.Encoding.ASCII.GetString(caPem));
        }
        string? token = null, tokenFile = null;
        X509Certificate2? clientCert = null;
        if (Str(context, "user") is { } userName && Named(root, "users", userName, "user") is { } user)
        {
            token = Str(user, "token");
            if (Str(user, "tokenFile") is { } tf) tokenFile = Path.Combine(dir, tf);
            var cert = Bytes(user, "client-certificate-data", "client-certificate", dir);
            var key = Bytes(user, "client-key-data", "client-key", dir);
            if (cert is not null && key is not null)
            {
                using var pem = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(cert), System.Text.Encoding.ASCII.GetString(key));
                // Exported and imported again: on Linux an ephemeral key is not usable for TLS client authentication.
                clientCert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pfx), null);
            }
            if (user.TryGetProperty("exec", out _) || user.TryGetProperty("auth-provider", out _))
                throw new KubeConfigException($"{path}: user \"{userName}\" authenticates with an exec or auth-provider plugin, which is not supported (use a token or a client certificate)");
        }
        return new KubeConnection
        {
            Server = uri,
            Ca = ca,
            InsecureSkipVerify = cluster.TryGetProperty("insecure-skip-tls-verify", out var skip) && skip.ValueKind == JsonValueKind.True,
            Token = token,
            TokenFile = tokenFile,
            ClientCertificate = clientCert,
            Namespace = Str(context, "namespace") ?? "default",
        };
    }

    private static string? Str(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static JsonElement? Named(JsonElement root, string list, string name, string inner)
    {
        if (!root.TryGetProperty(list, out var items) || items.ValueKind != JsonValueKind.Array) return null;
        foreach (var item in items.EnumerateArray())
        {
            if (Str(item, "name") == name && item.TryGetProperty(inner, out var value)) return value;
        }
        return null;
    }

    private static byte[]? Bytes(JsonElement element, string dataKey, string fileKey, string dir)
    {
        if (Str(element, dataKey) is { } data) return Convert.FromBase64String(data);
        if (Str(element, fileKey) is { } file) return File.ReadAllBytes(Path.Combine(dir, file));
        return null;
    }
}

/// <summary>A kubeconfig or in-cluster setting that cannot be used.</summary>
internal sealed class KubeConfigException(string message) : Exception(message);
