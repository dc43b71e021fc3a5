using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastProxy.Ingress.Model;

// The few Kubernetes API objects the controller reads and writes, with only the fields it uses (the API server sends
// more; unknown fields are skipped). Names follow the API's JSON (camelCase through KubernetesJson's options).

/// <summary>metadata of any object.</summary>
public sealed class ObjectMeta
{
    public string? Name { get; set; }
    public string? GenerateName { get; set; }
    public string? Namespace { get; set; }
    public string? Uid { get; set; }
    public string? ResourceVersion { get; set; }
    public DateTimeOffset? CreationTimestamp { get; set; }
    public DateTimeOffset? DeletionTimestamp { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }

    /// <summary>"namespace/name" (or "name" for cluster-scoped objects).</summary>
    [JsonIgnore]
    public string Key => string.IsNullOrEmpty(Namespace) ? Name ?? "" : $"{Namespace}/{Name}";
}

/// <summary>metadata of a list, and of a BOOKMARK event's object.</summary>
public sealed class ListMeta
{
    public string? ResourceVersion { get; set; }
    public string? Continue { get; set; }
}

/// <summary>Every object the controller watches has metadata.</summary>
public abstract class KubeObject
{
    public string? ApiVersion { get; set; }
    public string? Kind { get; set; }
    public ObjectMeta Metadata { get; set; } = new();
}

public sealed class IngressClass : KubeObject
{
    public IngressClassSpec Spec { get; set; } = new();
}

public sealed class IngressClassSpec
{
    public string? Controller { get; set; }
}

public sealed class Ingress : KubeObject
{
    public IngressSpec Spec { get; set; } = new();
    public IngressStatus? Status { get; set; }
}

public sealed class IngressSpec
{
    public string? IngressClassName { get; set; }
    public IngressBackend? DefaultBackend { get; set; }
    public List<IngressTls>? Tls { get; set; }
    public List<IngressRule>? Rules { get; set; }
}

public sealed class IngressTls
{
    public List<string>? Hosts { get; set; }
    public string? SecretName { get; set; }
}

public sealed class IngressRule
{
    public string? Host { get; set; }
    public HttpIngressRuleValue? Http { get; set; }
}

public sealed class HttpIngressRuleValue
{
    public List<HttpIngressPath> Paths { get; set; } = [];
}

public sealed class HttpIngressPath
{
    public string? Path { get; set; }
    public string? PathType { get; set; }
    public IngressBackend Backend { get; set; } = new();
}

public sealed class IngressBackend
{
    public IngressServiceBackend? Service { get; set; }
    /// <summary>A resource backend (apiGroup/kind/name): not served by this controller.</summary>
    public JsonElement? Resource { get; set; }
}

public sealed class IngressServiceBackend
{
    public string? Name { get; set; }
    public ServiceBackendPort? Port { get; set; }
}

public sealed class ServiceBackendPort
{
    public int? Number { get; set; }
    public string? Name { get; set; }
}

public sealed class IngressStatus
{
    public IngressLoadBalancerStatus? LoadBalancer { get; set; }
}

public sealed class IngressLoadBalancerStatus
{
    public List<LoadBalancerIngress>? Ingress { get; set; }
}

public sealed class LoadBalancerIngress
{
    public string? Ip { get; set; }
    public string? Hostname { get; set; }
}

public sealed class Service : KubeObject
{
    public ServiceSpec Spec { get; set; } = new();
    public ServiceStatus? Status { get; set; }
}

public sealed class ServiceSpec
{
    public string? Type { get; set; }
    public string? ClusterIP { get; set; }
    public List<string>? ExternalIPs { get; set; }
    public string? ExternalName { get; set; }
    public List<ServicePort>? Ports { get; set; }
}

public sealed class ServicePort
{
    public string? Name { get; set; }
    public string? Protocol { get; set; }
    public int Port { get; set; }
    /// <summary>A number or a name: kept as written ("8080" or "http").</summary>
    [JsonConverter(typeof(IntOrStringConverter))]
    public string? TargetPort { get; set; }
}

public sealed class ServiceStatus
{
    public IngressLoadBalancerStatus? LoadBalancer { get; set; }
}

public sealed class EndpointSlice : KubeObject
{
    public string? AddressType { get; set; }
    public List<Endpoint>? Endpoints { get; set; }
    public List<EndpointPort>? Ports { get; set; }

    /// <summary>The Service this slice belongs to (label kubernetes.io/service-name).</summary>
    [JsonIgnore]
    public string? ServiceName => Metadata.Labels is { } labels && labels.TryGetValue("kubernetes.io/service-name", out var name) ? name : null;
}

public sealed class Endpoint
{
    public List<string> Addresses { get; set; } = [];
    public EndpointConditions? Conditions { get; set; }
}

public sealed class EndpointConditions
{
    public bool? Ready { get; set; }
    public bool? Serving { get; set; }
    public bool? Terminating { get; set; }
}

public sealed class EndpointPort
{
    public string? Name { get; set; }
    public string? Protocol { get; set; }
    public int? Port { get; set; }
}

public sealed class Secret : KubeObject
{
    public string? Type { get; set; }
    /// <summary>Values are base64 in JSON; System.Text.Json decodes byte[] from base64.</summary>
    public Dictionary<string, byte[]>? Data { get; set; }
}

public sealed class Lease : KubeObject
{
    public LeaseSpec Spec { get; set; } = new();
}

public sealed class LeaseSpec
{
    public string? HolderIdentity { get; set; }
    public int? LeaseDurationSeconds { get; set; }
    [JsonConverter(typeof(MicroTimeConverter))]
    public DateTimeOffset? AcquireTime { get; set; }
    [JsonConverter(typeof(MicroTimeConverter))]
    public DateTimeOffset? RenewTime { get; set; }
    public int? LeaseTransitions { get; set; }
}

/// <summary>core/v1 Event, about one object.</summary>
public sealed class Event : KubeObject
{
    public ObjectReference InvolvedObject { get; set; } = new();
    public string? Reason { get; set; }
    public string? Message { get; set; }
    /// <summary>"Normal" or "Warning".</summary>
    public string? Type { get; set; }
    public EventSource? Source { get; set; }
    public DateTimeOffset? FirstTimestamp { get; set; }
    public DateTimeOffset? LastTimestamp { get; set; }
    public int? Count { get; set; }
    public string? ReportingComponent { get; set; }
}

public sealed class ObjectReference
{
    public string? ApiVersion { get; set; }
    public string? Kind { get; set; }
    public string? Namespace { get; set; }
    public string? Name { get; set; }
    public string? Uid { get; set; }
}

public sealed class EventSource
{
    public string? Component { get; set; }
}

/// <summary>A list answer: items and the resourceVersion to watch from.</summary>
public sealed class KubeList<T> where T : KubeObject
{
    public ListMeta Metadata { get; set; } = new();
    public List<T> Items { get; set; } = [];
}

/// <summary>One line of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and the object (a Status for ERROR).</summary>
public sealed class WatchEvent
{
    public string? Type { get; set; }
    public JsonElement Object { get; set; }
}

/// <summary>meta/v1 Status: what the API server answers with an error (and inside a watch ERROR event).</summary>
public sealed class Status
{
    public string? Kind { get; set; }
    [JsonPropertyName("status")]
    public string? Outcome { get; set; }
    public string? Message { get; set; }
    public string? Reason { get; set; }
    public int? Code { get; set; }
}

/// <summary>A port written as a number or a name (IntOrString), kept as its text.</summary>
public sealed class IntOrStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number => reader.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException("expected a number or a string"),
    };

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)) writer.WriteNumberValue(n);
        else writer.WriteStringValue(value);
    }
}

/// <summary>meta/v1 MicroTime: RFC 3339 with microseconds ("2026-12-07T21:00:00.000000Z"), as Leases require.</summary>
public sealed class MicroTimeConverter : JsonConverter<DateTimeOffset?>
{
    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        => reader.TokenType == JsonTokenType.Null ? null : DateTimeOffset.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is null) writer.WriteNullValue();
        else writer.WriteStringValue(value.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
    }
}
