using System.Text.Json;
using System.Text.Json.Serialization;

namespace FastProxy.Ingress.Model;

/// <summary>
/// Source-generated (de)serialisation of the Kubernetes objects: no reflection, so native AOT publishes without a
/// warning. Null members are not written (a status update sends only what it sets).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(IngressClass))]
[JsonSerializable(typeof(Ingress))]
[JsonSerializable(typeof(Service))]
[JsonSerializable(typeof(EndpointSlice))]
[JsonSerializable(typeof(Secret))]
[JsonSerializable(typeof(Lease))]
[JsonSerializable(typeof(Event))]
[JsonSerializable(typeof(KubeList<IngressClass>))]
[JsonSerializable(typeof(KubeList<Ingress>))]
[JsonSerializable(typeof(KubeList<Service>))]
[JsonSerializable(typeof(KubeList<EndpointSlice>))]
[JsonSerializable(typeof(KubeList<Secret>))]
[JsonSerializable(typeof(KubeList<Lease>))]
[JsonSerializable(typeof(WatchEvent))]
[JsonSerializable(typeof(Status))]
[JsonSerializable(typeof(ListMeta))]
[JsonSerializable(typeof(KubeObjectHeader))]
[JsonSerializable(typeof(string))]
public sealed partial class KubernetesJson : JsonSerializerContext
{
}

/// <summary>Only the metadata of an object (a BOOKMARK event's object; a Status's kind check).</summary>
public sealed class KubeObjectHeader
{
    public string? Kind { get; set; }
    public ObjectMeta Metadata { get; set; } = new();
    public int? Code { get; set; }
}
