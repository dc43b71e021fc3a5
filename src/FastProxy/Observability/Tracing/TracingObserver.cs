using System.Buffers;

namespace FastProxy.Observability.Tracing;

/// <summary>
/// The request record's tracing sink: a sampled request's spans are encoded on its own thread (into a pooled
/// buffer: nothing allocated) and queued for its generation's exporter. Unsampled requests cost one test.
/// Registered while the configuration has an otlp_endpoint (<see cref="Apply"/>).
/// </summary>
internal sealed class TracingObserver : IRequestObserver
{
    public static readonly TracingObserver Instance = new();

    /// <summary>Spans need the head's text only for sampled requests, which RequestTrace copies itself.</summary>
    public bool WantsText => false;

    public void OnRequestComplete(RequestRecord record)
    {
        if (record.Trace is not { Sampled: true, Tracer.Exporter: { } exporter } trace) return;
        var buffer = ArrayPool<byte>.Shared.Rent(SpanEncoder.MaxLength);
        int length;
        int spans;
        try
        {
            length = SpanEncoder.Encode(record, trace, buffer, out spans);
        }
        catch (ArgumentException)
        {
            // Longer than MaxLength (a very long route or upstream name): dropped, counted.
            ArrayPool<byte>.Shared.Return(buffer);
            TracingCounters.Dropped(1);
            return;
        }
        exporter.Enqueue(buffer, length, spans);
    }

    /// <summary>Registers the observer when the generation exports spans, removes it when not.</summary>
    public static void Apply(ObservabilityHub hub, Tracer? tracer)
    {
        if (tracer?.Exporter is not null) hub.Add(Instance);
        else hub.Remove(Instance);
    }
}
