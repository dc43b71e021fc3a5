using System.Text;
using System.Text.Json;
using FastProxy.Ingress.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace FastProxy.Ingress.Yaml;

/// <summary>
/// YAML as Kubernetes writes it (manifests, kubeconfig files) turned into JSON, then read with the source-generated
/// models. YamlDotNet's representation model only (a node tree, no reflection). Plain scalars become numbers,
/// booleans and null the way YAML 1.2's core schema reads them; quoted scalars stay strings.
/// </summary>
public static class KubeYaml
{
    /// <summary>Each document of <paramref name="yaml"/> as JSON text (empty documents skipped).</summary>
    public static List<string> ToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var documents = new List<string>();
        foreach (var document in stream.Documents)
        {
            if (document.RootNode is YamlScalarNode { Value: null or "" }) continue;
            var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                Write(writer, document.RootNode);
            }
            documents.Add(Encoding.UTF8.GetString(buffer.ToArray()));
        }
        return documents;
    }

    /// <summary>
    /// The objects of a manifest (several documents, or a "kind: List"). Kinds the controller does not read are skipped.
    /// </summary>
    public static List<KubeObject> ReadObjects(string yaml)
    {
        var objects = new List<KubeObject>();
        foreach (var json in ToJson(yaml))
        {
            using var document = JsonDocument.Parse(json);
            AddObjects(document.RootElement, objects);
        }
        return objects;
    }

    private static void AddObjects(JsonElement element, List<KubeObject> objects)
    {
        string? kind = element.TryGetProperty("kind", out var k) ? k.GetString() : null;
        if (kind is not null && kind.EndsWith("List", StringComparison.Ordinal) && element.TryGetProperty("items", out var items))
        {
            foreach (var item in items.EnumerateArray()) AddObjects(item, objects);
            return;
        }
        if (Deserialize(kind, element) is { } obj) objects.Add(obj);
    }

    /// <summary>An object of a kind the controller reads, or null.</summary>
    public static KubeObject? Deserialize(string? kind, JsonElement element) => kind switch
    {
        "IngressClass" => element.Deserialize(KubernetesJson.Default.IngressClass),
        "Ingress" => element.Deserialize(KubernetesJson.Default.Ingress),
        "Service" => element.Deserialize(KubernetesJson.Default.Service),
        "EndpointSlice" => element.Deserialize(KubernetesJson.Default.EndpointSlice),
        "Secret" => element.Deserialize(KubernetesJson.Default.Secret),
        "Lease" => element.Deserialize(KubernetesJson.Default.Lease),
        _ => null,
    };

    private static void Write(Utf8JsonWriter writer, YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                writer.WriteStartObject();
                foreach (var (key, value) in map.Children)
                {
                    writer.WritePropertyName(((YamlScalarNode)key).Value ?? "");
                    Write(writer, value);
                }
                writer.WriteEndObject();
                break;
            case YamlSequenceNode sequence:
                writer.WriteStartArray();
                foreach (var item in sequence.Children) Write(writer, item);
                writer.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                WriteScalar(writer, scalar);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.Plain)
        {
            switch (text)
            {
                case "" or "~" or "null" or "Null" or "NULL":
                    writer.WriteNullValue();
                    return;
                case "true" or "True" or "TRUE":
                    writer.WriteBooleanValue(true);
                    return;
                case "false" or "False" or "FALSE":
                    writer.WriteBooleanValue(false);
                    return;
            }
            if (long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long n))
            {
                writer.WriteNumberValue(n);
                return;
            }
        }
        writer.WriteStringValue(text);
    }
}
