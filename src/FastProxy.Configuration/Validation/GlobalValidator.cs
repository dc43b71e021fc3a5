using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>[global]: process-wide settings.</summary>
internal static class GlobalValidator
{
    public static readonly string[] Keys = ["shutdown_timeout", "max_connections"];

    public static GlobalConfig Read(TableReader? table)
    {
        var defaults = new GlobalConfig();
        if (table is null) return defaults;
        return new GlobalConfig
        {
            ShutdownTimeout = table.Duration("shutdown_timeout") ?? defaults.ShutdownTimeout,
            MaxConnections = table.Int("max_connections", 1) ?? defaults.MaxConnections,
        };
    }
}
