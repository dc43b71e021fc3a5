using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// validate's json_schema text: checked at load (`fastproxy check` and start alike) and compiled by the policy the same
/// way, with JsonSchema.Net (draft 2020-12; 7.x publishes native AOT without a trim or AOT warning).
/// </summary>
public static class ValidateSchema
{
    public const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>
    /// Whether <paramref name="text"/> is a draft 2020-12 JSON Schema that compiles; else why, starting with
    /// <paramref name="path"/>:line:col when the JSON itself is broken. Shared with the policy, which compiles the same way.
    /// </summary>
    public static bool Check(string text, string path, out string error)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            error = $"{path}:{(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: not JSON: {JsonMessage(e)}";
            return false;
        }
        if (node is not JsonObject and not JsonValue)
        {
            error = $"{path}: a JSON Schema is an object (or true/false), not {(node is null ? "null" : "an array")}";
            return false;
        }
        if (node is JsonValue value && value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            error = $"{path}: a JSON Schema is an object (or true/false), not {value.GetValueKind().ToString().ToLowerInvariant()}";
            return false;
        }
        if (node is JsonObject root && root["$schema"] is { } declared
            && (declared.GetValueKind() != JsonValueKind.String || declared.GetValue<string>().TrimEnd('#') != Draft202012))
        {
            error = $"{path}: \"$schema\" is {declared.ToJsonString()}; only draft 2020-12 is supported (\"{Draft202012}\", or leave $schema out)";
            return false;
        }
        try
        {
            // The meta-schema first: it says where and which keyword is misused ("type": 5), where compiling would only
            // say "Expected string".
            var meta = MetaSchemas.Draft202012.Evaluate(node, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (!meta.IsValid)
            {
                var first = meta.Details.FirstOrDefault(d => d.HasErrors) ?? meta;
                var where = first.InstanceLocation.ToString();
                var (keyword, message) = first.Errors?.FirstOrDefault() is { Key: not null } e ? (e.Key, e.Value) : ("", "not valid");
                error = $"{path}: not a draft 2020-12 schema at \"{(where.Length == 0 ? "/" : where)}\" ({keyword}: {message})";
                return false;
            }
            Compile(text);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException
            or NotSupportedException or RefResolutionException or KeyNotFoundException)
        {
            error = $"{path}: not a usable JSON Schema: {e.Message}";
            return false;
        }
        error = "";
        return true;
    }

    /// <summary>Compiles schema text as draft 2020-12 (the policy uses this too).</summary>
    public static JsonSchema Compile(string text) => JsonSchema.FromText(text);

    private static string JsonMessage(JsonException e)
    {
        // System.Text.Json ends its messages with "LineNumber: 2 | BytePositionInLine: 4." (0-based): the position is given first instead.
        var message = e.Message;
        int at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (at > 0 ? message[..at] : message).TrimEnd('.', ' ');
    }
}
