namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "json_body": member edits on JSON request bodies (before they are forwarded) and JSON
/// response bodies (before the client gets them), each body read whole up to <see cref="MaxSize"/>.
/// </summary>
public sealed class JsonBodyOptions : PolicyOptions
{
    public const long DefaultMaxSize = 1024 * 1024;

    public JsonEdits Request { get; init; } = JsonEdits.None;
    public JsonEdits Response { get; init; } = JsonEdits.None;

    /// <summary>The largest body (as received, and once decoded) that is transformed.</summary>
    public long MaxSize { get; init; } = DefaultMaxSize;

    /// <summary>What a larger body gets: passed untouched (counted), or refused (413 for a request, 502 for a response).</summary>
    public JsonOversize Oversize { get; init; } = JsonOversize.Pass;
}

public enum JsonOversize : byte
{
    Pass = 0,
    Refuse,
}

/// <summary>
/// One side's edits, applied in this order to the members they name: <see cref="Remove"/>, <see cref="Rename"/>,
/// <see cref="Add"/>. Paths are member names from the root object, split at dots ("internal.debug").
/// </summary>
public sealed class JsonEdits
{
    public static JsonEdits None { get; } = new();

    public IReadOnlyList<JsonMemberAdd> Add { get; init; } = [];
    public IReadOnlyList<IReadOnlyList<string>> Remove { get; init; } = [];
    public IReadOnlyList<JsonMemberRename> Rename { get; init; } = [];

    public bool IsEmpty => Add.Count == 0 && Remove.Count == 0 && Rename.Count == 0;
}

/// <summary>
/// Sets the member at <see cref="Path"/> (replacing one already there; missing parent objects are made). The value is
/// either fixed JSON (<see cref="Json"/>, from a TOML number, boolean, array or table) or a JSON string made from a
/// template (<see cref="Template"/>, from a TOML string).
/// </summary>
public sealed record JsonMemberAdd(IReadOnlyList<string> Path, string? Json, HeaderTemplate? Template);

/// <summary>Renames the member at <see cref="Path"/> to <see cref="NewName"/>, in the same object.</summary>
public sealed record JsonMemberRename(IReadOnlyList<string> Path, string NewName);
