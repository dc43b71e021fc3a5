using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastProxy.Configuration.Validation.Policies;
using FastProxy.Policies.Pipeline;
using Json.Schema;

namespace FastProxy.Policies.Types.Validate;

/// <summary>
/// validate's json_schema: the schema compiled once at load (JsonSchema.Net, draft 2020-12), and a body checked
/// against it. A failure is answered with problem+json: "field" is the JSON Pointer of the first failing place (for a
/// missing required member, the member's own pointer), and "errors" lists each failure (pointer, keyword, message).
/// This path allocates (a parsed tree, the library's results): only requests to routes with a schema take it.
/// </summary>
internal sealed class SchemaCheck
{
    /// <summary>At most this many failures are listed in "errors".</summary>
    private const int MaxErrors = 10;

    private readonly JsonSchema _schema;
    private readonly EvaluationOptions _options = new()
    {
        EvaluateAs = SpecVersion.Draft202012,
        OutputFormat = OutputFormat.List,
    };
    private static readonly JsonDocumentOptions s_documentOptions = new() { AllowDuplicateProperties = false, MaxDepth = 128 };
    private readonly RejectionCounter _invalidJson;
    private readonly RejectionCounter _failed;
    private readonly PolicyAnswer _evaluationFailed;

    public SchemaCheck(string name, string text)
    {
        if (!ValidateSchema.Check(text, "json_schema", out var error)) throw new PolicyBuildException($"policy \"{name}\": {error}");
        _schema = ValidateSchema.Compile(text);
        _invalidJson = RejectionCounter.For(name, "validate", "invalid_json");
        _failed = RejectionCounter.For(name, "validate", "schema");
        _evaluationFailed = ProblemDetails.Answer(500, RejectionCounter.For(name, "validate", "schema_error"),
            "the request body could not be checked against the schema", field: "");
    }

    /// <summary>Null when <paramref name="body"/> is JSON that passes the schema; else the 400 to answer.</summary>
    public PolicyAnswer? Check(ReadOnlySequence<byte> body)
    {
        JsonDocument document;
        try
        {
            // One JSON value and nothing after it, no member given twice (ambiguous JSON: which one would the upstream take?).
            document = JsonDocument.Parse(body, s_documentOptions);
        }
        catch (JsonException e)
        {
            var detail = e.BytePositionInLine is { } at
                ? $"the request body is not valid JSON (line {(e.LineNumber ?? 0) + 1}, byte {at + 1})"
                : "the request body is not valid JSON";
            if (e.Message.Contains("duplicate", StringComparison.OrdinalIgnoreCase)) detail += ": a member is given twice";
            return Answer(_invalidJson, detail, "", []);
        }
        EvaluationResults results;
        using (document)
        {
            var root = document.RootElement;
            JsonNode? node = root.ValueKind switch
            {
                JsonValueKind.Object => JsonObject.Create(root),
                JsonValueKind.Array => JsonArray.Create(root),
                JsonValueKind.Null => null,
                _ => JsonValue.Create(root),
            };
            try
            {
                results = _schema.Evaluate(node, _options);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The schema passed the load's checks; a library failure here is ours, not the client's.
                return _evaluationFailed;
            }
        }
        if (results.IsValid) return null;
        var errors = new List<ProblemError>();
        string? field = null;
        foreach (var detail in results.Details)
        {
            if (!detail.HasErrors) continue;
            var pointer = detail.InstanceLocation.ToString();
            foreach (var (name, message) in detail.Errors!)
            {
                if (errors.Count == MaxErrors) break;
                // A false subschema's failure has no keyword of its own: the keyword is where it sits (additionalProperties...).
                var keyword = name.Length > 0 || detail.EvaluationPath.Count == 0 ? name : detail.EvaluationPath[detail.EvaluationPath.Count - 1].ToString();
                var at = keyword == "required" && MissingMember(message) is { } missing ? pointer + "/" + Escape(missing) : pointer;
                field ??= at;
                errors.Add(new ProblemError(at, keyword, message));
            }
        }
        if (errors.Count == 0)
        {
            // Some failures (false schemas) carry no message: the root's verdict is all there is.
            errors.Add(new ProblemError("", "schema", "the body does not match the schema"));
        }
        field ??= "";
        var first = errors[0];
        var summary = $"the request body fails the schema at \"{(first.Pointer.Length == 0 ? "/" : first.Pointer)}\" ({first.Keyword}): {first.Detail}";
        return Answer(_failed, summary, field, errors);
    }

    private static PolicyAnswer Answer(RejectionCounter counter, string detail, string field, List<ProblemError> errors) =>
        ProblemDetails.Answer(400, counter, detail, field, errors);

    /// <summary>The first member named in a "required" message ("Required properties [\"a\",\"b\"] are not present").</summary>
    private static string? MissingMember(string message)
    {
        int open = message.IndexOf('['), close = message.LastIndexOf(']');
        if (open < 0 || close <= open) return null;
        try
        {
            return JsonNode.Parse(message[open..(close + 1)]) is JsonArray { Count: > 0 } names && names[0] is JsonValue v
                && v.TryGetValue<string>(out var name) ? name : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A member name as a JSON Pointer reference token (RFC 6901: ~ as ~0, / as ~1).</summary>
    private static string Escape(string name) => name.Replace("~", "~0").Replace("/", "~1");
}
