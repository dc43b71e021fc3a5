namespace FastProxy.Configuration;

/// <summary>How an access log line is written.</summary>
public enum AccessLogFormat : byte
{
    /// <summary>One JSON object a line (the fields of docs/operations.md "Access log").</summary>
    Json,
    /// <summary>nginx's and Apache's "combined" layout.</summary>
    Combined,
}

/// <summary>[access_log]: one line per request, written off the request path. Absent section: no access log.</summary>
public sealed class AccessLogConfig
{
    /// <summary>The value of `path` meaning the process's standard output (journald under systemd).</summary>
    public const string Stdout = "stdout";

    /// <summary>Absolute file path, or <see cref="Stdout"/>; null: off.</summary>
    public string? Path { get; init; }

    public AccessLogFormat Format { get; init; } = AccessLogFormat.Json;

    /// <summary>Bytes gathered before one write(2): lines go out in batches of up to this many bytes.</summary>
    public int Buffer { get; init; } = 64 * 1024;

    /// <summary>Lines that may wait for the writer; a request finding the queue full drops its line (counted) instead of waiting.</summary>
    public int Queue { get; init; } = 4096;

    /// <summary>The longest a line waits in the batch before it is written.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Query parameters whose values are replaced in the logged path, besides those a policy reads credentials from
    /// (api_key `query`, jwt `from = "query:NAME"`), which are always redacted.
    /// </summary>
    public IReadOnlyList<string> RedactQuery { get; init; } = [];

    public bool Enabled => Path is not null;

    /// <summary>Where `path` is written, for errors found when the file is opened (start, reload).</summary>
    public SourceLocation Location { get; init; }
}
