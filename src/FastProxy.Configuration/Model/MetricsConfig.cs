namespace FastProxy.Configuration;

/// <summary>
/// [metrics]: what /metrics on the admin listener exports beyond the defaults. Metrics are recorded whenever an
/// [admin] listener is configured (nothing could read them otherwise).
/// </summary>
public sealed class MetricsConfig
{
    /// <summary>Requests and rejections per declared consumer (API usage analytics); label values bounded by [consumers].</summary>
    public bool PerConsumer { get; init; }
}
