namespace FastProxy.Configuration;

/// <summary>[policies.NAME] type = "headers": header edits on the request the upstream receives and on the response the client receives.</summary>
public sealed class HeadersOptions : PolicyOptions
{
    public HeaderEdits Request { get; init; } = HeaderEdits.None;
    public HeaderEdits Response { get; init; } = HeaderEdits.None;
}

/// <summary>
/// One side's edits, applied in this order: <see cref="Remove"/>, <see cref="Rename"/>, <see cref="Set"/>,
/// <see cref="Add"/>. Names are checked tokens (never hop-by-hop, never a framing field); values are templates.
/// </summary>
public sealed class HeaderEdits
{
    public static HeaderEdits None { get; } = new();

    /// <summary>Replace every field of the name with one line (the fields go even when the value cannot be written).</summary>
    public IReadOnlyList<KeyValuePair<string, HeaderTemplate>> Set { get; init; } = [];
    /// <summary>Add one line, keeping any field of the name already there.</summary>
    public IReadOnlyList<KeyValuePair<string, HeaderTemplate>> Add { get; init; } = [];
    public IReadOnlyList<string> Remove { get; init; } = [];
    /// <summary>Old name to new name: every field of the old name goes, and comes back under the new one with its value.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Rename { get; init; } = [];

    public bool IsEmpty => Set.Count == 0 && Add.Count == 0 && Remove.Count == 0 && Rename.Count == 0;
}

/// <summary>What a template variable stands for.</summary>
public enum TemplateVariable : byte
{
    /// <summary>Not a variable: the part's text as written.</summary>
    Literal = 0,
    /// <summary>{client_ip}: the client's address as [client_ip] resolved it.</summary>
    ClientIp,
    /// <summary>{consumer}: the consumer's name, once an authentication policy identified one.</summary>
    Consumer,
    /// <summary>{request_id}: the request's id (the client's X-Request-Id when it sent a usable one, else generated).</summary>
    RequestId,
    /// <summary>{claim.NAME}: a verified token's string or number claim.</summary>
    Claim,
    /// <summary>{header.NAME}: the first request field of that name.</summary>
    Header,
}

/// <summary>One piece of a template: literal text, or a variable (with its NAME for claims and headers).</summary>
public readonly record struct TemplatePart(TemplateVariable Variable, string Text);

/// <summary>A header value as written in the config, split into literal text and variables at load.</summary>
public sealed class HeaderTemplate
{
    public HeaderTemplate(string source, IReadOnlyList<TemplatePart> parts)
    {
        Source = source;
        Parts = parts;
    }

    public string Source { get; }
    public IReadOnlyList<TemplatePart> Parts { get; }
}
