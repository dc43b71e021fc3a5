using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>[upstreams.NAME.passive]: outlier detection from live traffic.</summary>
internal static class PassiveHealthValidator
{
    public static readonly string[] Keys = ["consecutive_failures", "eject", "max_ejected_percent"];

    public static PassiveHealthConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var defaults = new PassiveHealthConfig();
        return new PassiveHealthConfig
        {
            ConsecutiveFailures = table.Int("consecutive_failures", 1) ?? defaults.ConsecutiveFailures,
            Eject = table.Duration("eject") ?? defaults.Eject,
            MaxEjectedPercent = table.Int("max_ejected_percent", 0, 100) ?? defaults.MaxEjectedPercent,
        };
    }
}
