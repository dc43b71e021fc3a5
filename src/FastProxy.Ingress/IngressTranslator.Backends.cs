using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Configuration;
using FastProxy.Ingress.Model;

namespace FastProxy.Ingress;

/// <summary>Backends (Service and port to the ready endpoints of its EndpointSlices) and TLS Secrets.</summary>
public sealed partial class IngressTranslator
{
    /// <summary>
    /// The upstream for a service backend, created on first use: one per (namespace, service, port, protocol). Its
    /// servers are the ready, non-terminating endpoints of the Service's EndpointSlices; none (no Service yet, no ready
    /// pod) is an upstream without servers, which answers 503 until endpoints come.
    /// </summary>
    private static string Backend(ClusterState state, Model.Ingress ingress, IngressBackend backend, IngressAnnotations annotations,
        Dictionary<string, UpstreamConfig> upstreams, List<IngressProblem> problems)
    {
        var service = backend.Service!;
        var ns = ingress.Metadata.Namespace ?? "default";
        string portText = service.Port?.Number is int number ? number.ToString(CultureInfo.InvariantCulture) : service.Port?.Name ?? "";
        var name = $"{ns}/{service.Name}:{portText}{annotations.ProtocolSuffix}";
        if (upstreams.ContainsKey(name)) return name;

        var servers = new List<ServerConfig>();
        if (ResolvePortName(state, ns, service, out var portName, out var problem))
        {
            foreach (var slice in state.EndpointSlices.Values)
            {
                if (slice.Metadata.Namespace != ns || slice.ServiceName != service.Name) continue;
                if (slice.AddressType is not ("IPv4" or "IPv6")) continue;
                int? port = null;
                foreach (var p in slice.Ports ?? [])
                {
                    if ((p.Name ?? "") == portName && p.Port is int n && (p.Protocol ?? "TCP") == "TCP") port = n;
                }
                if (port is null) continue;
                foreach (var endpoint in slice.Endpoints ?? [])
                {
                    // ready is unset: ready (the API's rule). Terminating endpoints take no new requests; those in flight
                    // finish on the configuration they started with.
                    if (endpoint.Conditions?.Ready == false || endpoint.Conditions?.Terminating == true) continue;
                    foreach (var address in endpoint.Addresses)
                    {
                        if (!IPAddress.TryParse(address, out var ip)) continue;
                        var endPoint = new IPEndPoint(ip, port.Value);
                        var text = endPoint.ToString();
                        if (servers.Exists(s => s.Address == text)) continue;
                        servers.Add(new ServerConfig { Address = text, EndPoint = endPoint, Host = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString() });
                    }
                }
            }
        }
        else
        {
            problems.Add(new IngressProblem(ingress.Metadata.Key, ingress.Metadata.Uid, "BackendNotFound", problem!, Skipped: false));
        }
        servers.Sort(static (a, b) => string.CompareOrdinal(a.Address, b.Address));
        upstreams[name] = new UpstreamConfig
        {
            Name = name,
            Servers = servers,
            Protocol = annotations.Protocol,
            Tls = annotations.Tls,
            // Pods are reached by address and usually present a self-signed certificate: not verified, as ingress-nginx
            // does by default (docs/kubernetes.md).
            InsecureSkipVerify = annotations.Tls,
        };
        return name;
    }

    /// <summary>
    /// The name of the Service port a backend means ("" for an unnamed single port), by which its EndpointSlice port is
    /// found. A number is looked up among the Service's ports; a name is taken as it is (the slices name their ports
    /// after the Service's).
    /// </summary>
    private static bool ResolvePortName(ClusterState state, string ns, IngressServiceBackend backend, out string portName, out string? problem)
    {
        portName = "";
        problem = null;
        state.Services.TryGetValue($"{ns}/{backend.Name}", out var service);
        if (service?.Spec.Type == "ExternalName")
        {
            problem = $"Service {ns}/{backend.Name} is of type ExternalName, which is not served";
            return false;
        }
        if (backend.Port?.Name is { Length: > 0 } name)
        {
            if (service is not null && service.Spec.Ports?.Exists(p => p.Name == name) != true)
            {
                problem = $"Service {ns}/{backend.Name} has no port named \"{name}\"";
                return false;
            }
            portName = name;
            return true;
        }
        if (backend.Port?.Number is not int number)
        {
            problem = $"the backend of Service {ns}/{backend.Name} names no port";
            return false;
        }
        if (service is null)
        {
            problem = $"no Service {ns}/{backend.Name}";
            return false;
        }
        var port = service.Spec.Ports?.Find(p => p.Port == number);
        if (port is null)
        {
            problem = $"Service {ns}/{backend.Name} has no port {number}";
            return false;
        }
        portName = port.Name ?? "";
        return true;
    }

    /// <summary>spec.tls: each Secret (kubernetes.io/tls, same namespace) becomes a certificate for its hosts, served by SNI.</summary>
    private void Certificates(ClusterState state, Model.Ingress ingress, List<TlsCertificateConfig> certificates, List<IngressProblem> problems)
    {
        var tlsList = ingress.Spec.Tls ?? [];
        for (int i = 0; i < tlsList.Count; i++)
        {
            var tls = tlsList[i];
            var key = $"{ingress.Metadata.Namespace}/{tls.SecretName}";
            string? trouble = null;
            if (string.IsNullOrEmpty(tls.SecretName)) trouble = "no secretName";
            else if (!state.Secrets.TryGetValue(key, out var secret)) trouble = $"no Secret {key}";
            else if (secret.Type is not ("kubernetes.io/tls" or null))
                trouble = $"Secret {key} is of type {secret.Type}, not kubernetes.io/tls";
            else if (secret.Data is null || !secret.Data.TryGetValue("tls.crt", out var cert) || !secret.Data.TryGetValue("tls.key", out var keyBytes))
                trouble = $"Secret {key} has no tls.crt and tls.key";
            else if (CheckPem(cert, keyBytes) is { } bad) trouble = $"Secret {key}: {bad}";
            else
            {
                var hosts = new List<string>();
                foreach (var host in tls.Hosts ?? [])
                {
                    var lower = host.ToLowerInvariant();
                    if (HostPattern().IsMatch(lower)) hosts.Add(lower);
                    else problems.Add(new IngressProblem(ingress.Metadata.Key, ingress.Metadata.Uid, "InvalidTls", $"spec.tls[{i}].hosts: \"{IngressAnnotations.Shown(host)}\" is not a DNS name", Skipped: false));
                }
                certificates.Add(new TlsCertificateConfig
                {
                    Cert = files.Write(cert, ".crt"),
                    Key = files.Write(keyBytes, ".key"),
                    Sni = hosts.Count == 0 ? null : hosts,
                });
                continue;
            }
            problems.Add(new IngressProblem(ingress.Metadata.Key, ingress.Metadata.Uid, "InvalidTls", $"spec.tls[{i}]: {trouble}; its hosts get the default certificate", Skipped: false));
        }
    }

    /// <summary>Null when the PEM certificate and key load together (as the proxy will load them), else why not.</summary>
    private static string? CheckPem(byte[] cert, byte[] key)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(cert), System.Text.Encoding.ASCII.GetString(key));
            return certificate.HasPrivateKey ? null : "the key does not go with the certificate";
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            return "tls.crt and tls.key are not a PEM certificate and its key: " + e.Message;
        }
    }

    /// <summary>The https listener gets the proxy.toml's certificates first (the default), then the Ingresses'.</summary>
    private List<ListenerConfig> Listeners(ProxyConfig baseConfig, List<TlsCertificateConfig> certificates)
    {
        var listeners = new List<ListenerConfig>();
        foreach (var listener in baseConfig.Listeners)
        {
            if (listener.Name != options.HttpsListener || listener.Protocol != ListenerProtocol.Http)
            {
                listeners.Add(listener);
                continue;
            }
            var tls = new List<TlsCertificateConfig>(listener.Tls);
            if (tls.Count == 0 && options.DefaultCertificate is var (cert, key)) tls.Add(new TlsCertificateConfig { Cert = cert, Key = key });
            tls.AddRange(certificates);
            listeners.Add(ConfigCopy.WithTls(listener, tls));
        }
        return listeners;
    }
}
