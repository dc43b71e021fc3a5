using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "validate": methods, max_body, required_headers, required_query and json_schema. The schema file is read,
/// parsed and compiled here (so `fastproxy check` refuses a file that is missing, not JSON, or not a draft 2020-12
/// schema, at the key's file:line:col with the place in the schema file), and the policy compiles the same text.
/// </summary>
internal sealed class ValidatePolicyType : IPolicyType
{
    /// <summary>A schema is configuration, not data: anything this big is a wrong file.</summary>
    private const long MaxSchemaBytes = 1024 * 1024;

    public string Name => "validate";

    public IReadOnlyList<string> Keys { get; } = ["methods", "max_body", "required_headers", "required_query", "json_schema"];

    public PolicyOptions? Read(TableReader policy)
    {
        List<string>? methods = null;
        if (policy.Strings("methods") is { } listed)
        {
            methods = [];
            foreach (var (method, path) in listed)
            {
                if (!HttpSyntax.IsToken(method)) policy.Context.Error(path, $"\"{method}\" is not a method name (a token such as \"POST\")");
                else if (methods.Contains(method.ToUpperInvariant())) policy.Context.Error(path, $"\"{method}\" is listed twice");
                else methods.Add(method.ToUpperInvariant());
            }
            if (listed.Count == 0) policy.Error("methods", "an empty methods list refuses every request: leave methods out to allow any method");
            if (methods.Contains("GET") && !methods.Contains("HEAD")) methods.Add("HEAD"); // HEAD is GET without the body (RFC 9110 §9.3.2)
        }
        long maxBody = policy.Size("max_body", long.MaxValue) ?? 0;

        var headers = new List<string>();
        foreach (var (name, path) in policy.Strings("required_headers") ?? [])
        {
            if (!HttpSyntax.IsToken(name)) policy.Context.Error(path, $"\"{name}\" is not a header field name");
            else if (headers.Contains(name, StringComparer.OrdinalIgnoreCase)) policy.Context.Error(path, $"\"{name}\" is listed twice");
            else headers.Add(name);
        }
        var query = new List<string>();
        foreach (var (name, path) in policy.Strings("required_query") ?? [])
        {
            if (name.Length == 0 || name.AsSpan().IndexOfAny("&=#? \t\r\n") >= 0 || name.Any(char.IsControl))
                policy.Context.Error(path, $"\"{name}\" is not a query parameter name (no '&', '=', '#', '?', spaces or control characters)");
            else if (query.Contains(name)) policy.Context.Error(path, $"\"{name}\" is listed twice");
            else query.Add(name);
        }

        string? schemaPath = null, schemaText = null;
        var file = policy.String("json_schema");
        if (file is { Length: 0 }) policy.Error("json_schema", "empty file name (e.g. json_schema = \"schemas/order.json\")");
        else if (file is not null)
        {
            schemaPath = policy.Context.FullPath(file);
            schemaText = ReadSchema(policy, schemaPath);
        }
        if (methods is null && maxBody == 0 && headers.Count == 0 && query.Count == 0 && file is null)
        {
            policy.Context.Warning(policy.Path, "this validate policy checks nothing: give it methods, max_body, required_headers, required_query or json_schema");
        }
        return new ValidateOptions
        {
            Methods = methods,
            MaxBody = maxBody,
            RequiredHeaders = headers,
            RequiredQuery = query,
            JsonSchema = schemaPath,
            JsonSchemaText = schemaText,
        };
    }

    /// <summary>The schema file's text when it exists, parses as JSON and compiles as a draft 2020-12 schema; else an error at the key (null).</summary>
    private static string? ReadSchema(TableReader policy, string path)
    {
        string text;
        try
        {
            if (Directory.Exists(path))
            {
                policy.Error("json_schema", $"{path} is a directory, expected a JSON Schema file");
                return null;
            }
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                policy.Error("json_schema", $"file not found: {path}");
                return null;
            }
            if (info.Length > MaxSchemaBytes)
            {
                policy.Error("json_schema", $"{path} is over 1 MiB: not a JSON Schema?");
                return null;
            }
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            policy.Error("json_schema", $"cannot read {path}: {(e is UnauthorizedAccessException ? "permission denied" : e.Message)}");
            return null;
        }
        return ValidateSchema.Check(text, path, out var error) ? text : Fail(policy, error);
    }

    private static string? Fail(TableReader policy, string error)
    {
        policy.Error("json_schema", error);
        return null;
    }
}
