using FastProxy.Configuration.Reading;
using System.Globalization;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>[upstreams.NAME.health]: active health checks; absent, none.</summary>
internal static class HealthCheckValidator
{
    public static readonly string[] Keys = ["type", "path", "method", "interval", "timeout", "unhealthy", "healthy", "expect"];

    private static readonly (string, HealthCheckType)[] Types = [("http", HealthCheckType.Http), ("tcp", HealthCheckType.Tcp)];

    // Only an HTTP check sends a request to shape or reads a status to judge.
    private static readonly string[] HttpOnlyKeys = ["path", "method", "expect"];

    public static HealthCheckConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var defaults = new HealthCheckConfig();
        var type = table.Choice("type", "health check type", Types) ?? defaults.Type;
        if (type == HealthCheckType.Tcp)
        {
            foreach (var key in HttpOnlyKeys)
            {
                if (table.Has(key)) table.Context.ErrorAtKey(table.PathOf(key), "only applies to type = \"http\" (a tcp check only connects)");
            }
        }

        var path = table.String("path");
        if (path is not null && HttpSyntax.PathProblem(path, allowQuery: true) is { } pathProblem)
        {
            table.Error("path", pathProblem);
            path = null;
        }

        var method = table.String("method");
        if (method is not null && !HttpSyntax.IsToken(method))
        {
            table.Error("method", $"invalid method \"{method}\": expected a token such as \"GET\"");
            method = null;
        }

        var interval = table.Duration("interval") ?? defaults.Interval;
        var timeout = table.Duration("timeout") ?? defaults.Timeout;
        if (timeout > interval)
        {
            table.Context.Warning(table.PathOf("timeout"), "is longer than interval: a slow server gets its next check before the last one ends");
        }

        var (expectMin, expectMax) = ReadExpect(table) ?? (defaults.ExpectMin, defaults.ExpectMax);
        return new HealthCheckConfig
        {
            Type = type,
            Path = path ?? defaults.Path,
            Method = method?.ToUpperInvariant() ?? defaults.Method,
            Interval = interval,
            Timeout = timeout,
            Unhealthy = table.Int("unhealthy", 1) ?? defaults.Unhealthy,
            Healthy = table.Int("healthy", 1) ?? defaults.Healthy,
            ExpectMin = expectMin,
            ExpectMax = expectMax,
        };
    }

    /// <summary>expect = "200-399" or "204"; an integer 204 is taken too.</summary>
    private static (int Min, int Max)? ReadExpect(TableReader table)
    {
        if (table.Raw("expect") is long single)
        {
            return IsStatus(single) ? ((int)single, (int)single) : Bad(table, single.ToString(CultureInfo.InvariantCulture));
        }
        var text = table.String("expect");
        if (text is null) return null;
        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var first = dash < 0 ? text : text[..dash];
        var last = dash < 0 ? text : text[(dash + 1)..];
        if (!int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var min)
            || !int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var max)
            || !IsStatus(min) || !IsStatus(max) || min > max)
        {
            return Bad(table, $"\"{text}\"");
        }
        return (min, max);
    }

    private static bool IsStatus(long code) => code is >= 100 and <= 599;

    private static (int, int)? Bad(TableReader table, string value)
    {
        table.Error("expect", $"invalid status range {value}: expected \"200-399\" or a single status such as \"200\" (100-599)");
        return null;
    }
}
