namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "validate": what a request must be before it is forwarded: its method, its body's size,
/// the header fields and query parameters it must carry, and a JSON Schema (draft 2020-12) its JSON body must pass.
/// Refusals are RFC 9457 problem+json naming what failed.
/// </summary>
public sealed class ValidateOptions : PolicyOptions
{
    /// <summary>The body cap when json_schema is given without max_body: a schema needs the whole body in memory.</summary>
    public const long DefaultSchemaMaxBody = 1024 * 1024;

    /// <summary>Allowed methods (upper case; HEAD is added when GET is listed); null: any method.</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>Largest request body in octets; 0: not set (the listener's max_body, or <see cref="DefaultSchemaMaxBody"/> with a schema).</summary>
    public long MaxBody { get; init; }

    /// <summary>Header fields every request must carry (names as written; matched case-insensitively).</summary>
    public IReadOnlyList<string> RequiredHeaders { get; init; } = [];

    /// <summary>Query parameters every request must carry (names matched exactly, as sent).</summary>
    public IReadOnlyList<string> RequiredQuery { get; init; } = [];

    /// <summary>Absolute path of the JSON Schema file; null: no schema.</summary>
    public string? JsonSchema { get; init; }

    /// <summary>The schema file's text as read and checked at load (the policy compiles this, not a later version of the file).</summary>
    public string? JsonSchemaText { get; init; }
}
