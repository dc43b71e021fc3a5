using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>[upstreams.NAME.retry]: extra tries on other servers, bounded by a budget.</summary>
internal static class RetryValidator
{
    public static readonly string[] Keys = ["attempts", "budget_percent"];

    public static RetryConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var defaults = new RetryConfig();
        return new RetryConfig
        {
            Attempts = table.Int("attempts", 0) ?? defaults.Attempts,
            BudgetPercent = table.Int("budget_percent", 0, 100) ?? defaults.BudgetPercent,
        };
    }
}
