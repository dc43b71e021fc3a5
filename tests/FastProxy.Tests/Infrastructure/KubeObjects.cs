using System.Text.Json.Nodes;

namespace FastProxy.Tests.Infrastructure;

/// <summary>
/// Kubernetes objects for the ingress tests' API stand-in, from a few parameters: YAML documents (joined with
/// <see cref="Cluster"/> for <c>FakeKubeApi.Load</c>) and EndpointSlices as JSON (for <c>FakeKubeApi.Put</c>).
/// </summary>
internal static class KubeObjects
{
    /// <summary>One YAML stream of the documents given.</summary>
    public static string Cluster(params string[] documents) => string.Join("\n---\n", documents);

    public static string IngressClass(string name = "fastproxy", string controller = "fastproxy.io/ingress-controller") => $$"""
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata: { name: {{name}} }
        spec: { controller: {{controller}} }
        """;

    /// <summary>
    /// An Ingress of class <paramref name="ingressClass"/> sending every path of <paramref name="host"/> to svc-foo:80,
    /// created <paramref name="second"/> seconds into 2026; <paramref name="annotations"/>: a YAML flow mapping, or empty.
    /// </summary>
    public static string Ingress(string name, string host, string ingressClass = "fastproxy", string ns = "default", int second = 1, string annotations = "") => $$"""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: { name: {{name}}, namespace: {{ns}}, creationTimestamp: "2026-01-01T00:00:{{second:D2}}Z"{{(annotations.Length > 0 ? ", annotations: " + annotations : "")}} }
        spec:
          ingressClassName: {{ingressClass}}
          rules:
          - host: {{host}}
            http:
              paths:
              - { path: /, pathType: Prefix, backend: { service: { name: svc-foo, port: { number: 80 } } } }
        """;

    /// <summary>A Service; <paramref name="loadBalancerIp"/>: the address its status publishes (a publish service's).</summary>
    public static string Service(string name = "svc-foo", string ns = "default", string ports = "[ { name: http, port: 80 } ]", string? loadBalancerIp = null) => $$"""
        apiVersion: v1
        kind: Service
        metadata: { name: {{name}}, namespace: {{ns}} }
        spec: { ports: {{ports}} }
        """ + (loadBalancerIp is null ? "" : $"\nstatus: {{ loadBalancer: {{ ingress: [ {{ ip: {loadBalancerIp} }} ] }} }}");

    /// <summary>An EndpointSlice of svc-foo in default: one endpoint on 127.0.0.1:<paramref name="port"/>.</summary>
    public static JsonObject EndpointSlice(string name, int port, bool ready = true, bool terminating = false) => new()
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
}
