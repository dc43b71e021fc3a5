using FastProxy.Configuration;

namespace FastProxy.Observability.Tracing;

/// <summary>
/// [tracing] of one configuration generation, when spans are exported: the sampling ratio and where sampled spans go.
/// Without an otlp_endpoint there is no Tracer: trace context is still propagated, nothing is recorded.
/// </summary>
internal sealed class Tracer
{
    /// <summary>A trace whose low 63 bits of trace-id fall below this is sampled (the trace-id is random, W3C §3.2.2.3).</summary>
    private readonly ulong _bound;
    private readonly bool _all;

    public Tracer(double sample, OtlpExporter? exporter = null)
    {
        _all = sample >= 1;
        _bound = sample <= 0 ? 0 : (ulong)(sample * long.MaxValue);
        Exporter = exporter;
    }

    /// <summary>Where sampled spans go.</summary>
    public OtlpExporter? Exporter { get; }

    /// <summary>True for a ratio of trace-ids given by `sample`: like OpenTelemetry's TraceIdRatioBased, from the id itself (no extra randomness).</summary>
    public bool Samples(ulong traceLow) => _all || (traceLow & long.MaxValue) < _bound;

    /// <summary>
    /// The generation's tracer: null without an otlp_endpoint. The previous generation's exporter is kept when the
    /// export settings did not change (its queue carries over), else a new one is made.
    /// </summary>
    public static Tracer? For(TracingConfig config, Tracer? previous)
    {
        if (config.OtlpEndpoint is null) return null;
        var exporter = previous?.Exporter is { } old && old.SameSettings(config) ? old.Acquire() : new OtlpExporter(config);
        return new Tracer(config.Sample, exporter);
    }

    /// <summary>The generation was replaced or stopped.</summary>
    public void Retire() => Exporter?.Release();
}
