using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>[metrics]: optional; absent, the defaults (no per-consumer series).</summary>
internal static class MetricsValidator
{
    public static readonly string[] Keys = ["per_consumer"];

    public static MetricsConfig Read(TableReader? table, AdminConfig? admin, IReadOnlyList<ConsumerConfig> consumers)
    {
        if (table is null) return new MetricsConfig();
        bool perConsumer = table.Bool("per_consumer") ?? false;
        if (perConsumer && admin is null)
            table.Context.Warning(table.PathOf("per_consumer"), "there is no [admin] section, so nothing serves /metrics: per-consumer series are not recorded");
        else if (perConsumer && consumers.Count == 0)
            table.Context.Warning(table.PathOf("per_consumer"), "no [consumers] are declared: there is no consumer to count requests for");
        return new MetricsConfig { PerConsumer = perConsumer };
    }
}
