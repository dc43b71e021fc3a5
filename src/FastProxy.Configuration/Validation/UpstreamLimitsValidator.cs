using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>[upstreams.NAME.limits]: circuit breaking; beyond them, 503 at once.</summary>
internal static class UpstreamLimitsValidator
{
    public static readonly string[] Keys = ["max_requests", "max_pending"];

    public static UpstreamLimitsConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var defaults = new UpstreamLimitsConfig();
        return new UpstreamLimitsConfig
        {
            MaxRequests = table.Int("max_requests", 1) ?? defaults.MaxRequests,
            MaxPending = table.Int("max_pending", 1) ?? defaults.MaxPending,
        };
    }
}
