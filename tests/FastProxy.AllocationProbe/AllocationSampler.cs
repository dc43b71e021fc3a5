using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace FastProxy.AllocationProbe;

/// <summary>
/// Which types the process allocates, sampled by the runtime's GC AllocationTick event (one event per ~100 KB
/// allocated, naming the type of the object that crossed the mark): over a long run the counts are proportional
/// to the bytes each type takes. Enabled with FASTPROXY_PROBE_TYPES=1; prints the top types at the end. A tool for
/// finding what to pool, not a measurement to assert on.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int AllocationTickId = 10; // GCAllocationTick_V4
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _counting;

    public void Start() => _counting = true;

    public void Stop() => _counting = false;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1 /* GC */);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_counting || e.EventId != AllocationTickId || e.Payload is null) return;
        int nameIndex = e.PayloadNames!.IndexOf("TypeName");
        int amountIndex = e.PayloadNames.IndexOf("AllocationAmount64");
        if (nameIndex < 0) return;
        string type = e.Payload[nameIndex] as string ?? "?";
        long amount = amountIndex >= 0 ? Convert.ToInt64(e.Payload[amountIndex]) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    public void Print(long requests, int top = 25)
    {
        Console.WriteLine($"sampled types (bytes attributed per request, {requests} requests):");
        foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(top))
            Console.WriteLine($"  {bytes / (double)Math.Max(1, requests),8:F1}  {type}");
    }
}
