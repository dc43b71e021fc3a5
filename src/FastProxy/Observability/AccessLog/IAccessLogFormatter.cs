using FastProxy.Configuration;

namespace FastProxy.Observability.AccessLog;

/// <summary>One access log layout, selected by its name in [access_log] format.</summary>
internal interface IAccessLogFormatter
{
    /// <summary>As written in proxy.toml: "json", "combined".</summary>
    string Name { get; }

    /// <summary>
    /// Writes one line, newline included, into <paramref name="line"/> (at least <see cref="LineWriter.TailReserve"/>
    /// bytes plus room for text) and returns its length. Never overflows: long fields are cut.
    /// </summary>
    int Format(scoped in AccessLogEntry entry, QueryRedaction redaction, Span<byte> line);
}

internal static class AccessLogFormatters
{
    public static readonly IAccessLogFormatter Json = new JsonAccessLogFormatter();
    public static readonly IAccessLogFormatter Combined = new CombinedAccessLogFormatter();

    public static IAccessLogFormatter For(AccessLogFormat format) => format switch
    {
        AccessLogFormat.Combined => Combined,
        _ => Json,
    };
}
