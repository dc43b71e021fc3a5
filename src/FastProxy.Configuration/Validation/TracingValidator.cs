using System.Globalization;
using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// [tracing]: where sampled spans go (OTLP/HTTP) and how many requests are sampled. Absent section or no
/// otlp_endpoint: nothing is exported; W3C trace context and x-request-id are propagated either way.
/// </summary>
internal static class TracingValidator
{
    public static readonly string[] Keys = ["otlp_endpoint", "sample", "service_name", "batch_size", "export_interval", "queue_size"];

    public static TracingConfig Read(TableReader? table)
    {
        var defaults = new TracingConfig();
        if (table is null) return defaults;
        return new TracingConfig
        {
            OtlpEndpoint = Endpoint(table),
            Sample = Sample(table) ?? defaults.Sample,
            ServiceName = ServiceName(table) ?? defaults.ServiceName,
            BatchSize = table.Int("batch_size", 1, 8192) ?? defaults.BatchSize,
            ExportInterval = table.Duration("export_interval") ?? defaults.ExportInterval,
            QueueSize = table.Int("queue_size", 1, 1_000_000) ?? defaults.QueueSize,
        };
    }

    /// <summary>http://host:port or https://host:port (a path, if any, is where the collector's OTLP/HTTP API is mounted; /v1/traces is appended).</summary>
    private static Uri? Endpoint(TableReader table)
    {
        var text = table.String("otlp_endpoint");
        if (text is null) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Host.Length == 0)
        {
            table.Error("otlp_endpoint", $"expected an http:// or https:// URL such as \"http://127.0.0.1:4318\", got \"{text}\"");
            return null;
        }
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            table.Error("otlp_endpoint", $"\"{text}\": no query, fragment or user name: the collector's base URL (OTLP/HTTP adds /v1/traces)");
            return null;
        }
        return uri;
    }

    /// <summary>A ratio from 0 to 1 (integer 0 and 1 allowed too).</summary>
    private static double? Sample(TableReader table)
    {
        var raw = table.Raw("sample");
        double? value = raw switch
        {
            null => null,
            double d => d,
            long l => l,
            _ => null,
        };
        if (raw is not null and not double and not long)
        {
            table.Error("sample", $"expected a number from 0 to 1 (0.01: one request in a hundred), got {TomlTypeNames.Of(raw)}");
            return null;
        }
        if (value is { } v && (double.IsNaN(v) || v < 0 || v > 1))
        {
            table.Error("sample", $"must be from 0 to 1 (a ratio: 0.01 is one request in a hundred), got {v.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }
        return value;
    }

    private static string? ServiceName(TableReader table)
    {
        var name = table.String("service_name");
        if (name is { Length: 0 })
        {
            table.Error("service_name", "must not be empty");
            return null;
        }
        return name;
    }
}
