namespace FastProxy.Configuration;

/// <summary>The body formats an error_pages policy can give.</summary>
public enum ErrorPageFormat : byte
{
    /// <summary>RFC 9457 application/problem+json.</summary>
    ProblemJson = 0,
    /// <summary>An HTML page: a file from <c>pages</c>, or the built-in one.</summary>
    Html = 1,
}

/// <summary>A run of statuses: one ("503", First == Last) or a class ("5xx": 500-599).</summary>
public readonly record struct StatusRange(int First, int Last)
{
    public bool Contains(int status) => status >= First && status <= Last;

    public bool IsClass => Last > First;

    public override string ToString() => IsClass ? $"{First / 100}xx" : First.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An HTML page from <c>pages</c>, read when the config was loaded.</summary>
public sealed class ErrorPageFile
{
    public required StatusRange Statuses { get; init; }
    /// <summary>The file's full path (for messages and /config).</summary>
    public required string Path { get; init; }
    public required byte[] Content { get; init; }
}

/// <summary>
/// [policies.NAME] type = "error_pages": replaces the body of matching error answers with RFC 9457 problem+json or an
/// HTML page, keeping their status and their headers (WWW-Authenticate, Retry-After, Allow, RateLimit).
/// </summary>
public sealed class ErrorPagesOptions : PolicyOptions
{
    /// <summary>The statuses whose answers get a page (400-599, single or by class).</summary>
    public IReadOnlyList<StatusRange> Statuses { get; init; } = [new(400, 499), new(500, 599)];

    /// <summary>The formats in preference order: one (fixed), or several (negotiated by Accept; the first when Accept says nothing).</summary>
    public IReadOnlyList<ErrorPageFormat> Formats { get; init; } = [ErrorPageFormat.ProblemJson, ErrorPageFormat.Html];

    /// <summary>HTML pages by status or class; an exact status wins over its class. Statuses without one get the built-in page.</summary>
    public IReadOnlyList<ErrorPageFile> Pages { get; init; } = [];

    /// <summary>True: only the proxy's own answers (failed exchanges, no route, policy refusals) are replaced, never an upstream's.</summary>
    public bool OnlyProxyErrors { get; init; } = true;
}
