namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "mock": a fixed answer (status, headers, body or body_file read at load), optionally after a
/// delay. Always answers, so a route whose chain has one needs neither upstream nor respond.
/// </summary>
public sealed class MockOptions : PolicyOptions
{
    public int Status { get; init; } = 200;

    /// <summary>Extra response fields, in file order (no framing fields: the proxy writes those).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>The body (from body, or body_file read when the file was loaded); empty: none.</summary>
    public byte[] Body { get; init; } = [];

    /// <summary>Content-Type sent with a body: content_type, else application/json when the body parses as JSON, else text/plain.</summary>
    public string? ContentType { get; init; }

    /// <summary>How long to wait before answering; zero: answer at once.</summary>
    public TimeSpan Delay { get; init; }
}
