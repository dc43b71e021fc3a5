using System.Runtime.CompilerServices;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// A row of counters kept once per CPU stripe and summed when scraped. A request adds to the stripe of the CPU it runs
/// on (<see cref="Thread.GetCurrentProcessorId"/>, cached by the runtime), so two cores counting the same series never
/// write the same cache line: the interlocked add stays on a line the core already owns. Interlocked (not a plain add)
/// because two threads can still meet on one stripe (a thread preempted between read and write, or moved to another
/// core after reading its id): counts stay exact, which the tests and Prometheus' rate() rely on.
/// </summary>
internal sealed class StripedCells
{
    /// <summary>Stripes: the CPU count rounded up to a power of two (capped; ids beyond it share stripes).</summary>
    private static readonly int s_stripes = StripeCount();
    private static readonly int s_mask = s_stripes - 1;

    /// <summary>Longs per 64-byte cache line: each stripe starts on its own line (and the array header has one of its own).</summary>
    private const int LineLongs = 8;

    private readonly long[] _cells;
    private readonly int _stride;

    public StripedCells(int width)
    {
        Width = width;
        _stride = (width + LineLongs - 1) / LineLongs * LineLongs;
        _cells = new long[LineLongs + s_stripes * _stride];
    }

    public int Width { get; }

    private static int StripeCount()
    {
        int n = 1;
        while (n < Environment.ProcessorCount && n < 64) n <<= 1;
        return n;
    }

    /// <summary>The first cell of the calling CPU's stripe.</summary>
    public int Stripe
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => LineLongs + (Thread.GetCurrentProcessorId() & s_mask) * _stride;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment(int stripe, int cell) => Interlocked.Increment(ref _cells[stripe + cell]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int stripe, int cell, long value) => Interlocked.Add(ref _cells[stripe + cell], value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Increment(int cell) => Interlocked.Increment(ref _cells[Stripe + cell]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int cell, long value) => Interlocked.Add(ref _cells[Stripe + cell], value);

    /// <summary>One cell summed over the stripes (a scrape; a concurrent add may land on either side of it).</summary>
    public long Sum(int cell)
    {
        long sum = 0;
        for (int s = 0; s < s_stripes; s++) sum += Volatile.Read(ref _cells[LineLongs + s * _stride + cell]);
        return sum;
    }

    /// <summary>Every cell summed over the stripes, into <paramref name="into"/> (at least <see cref="Width"/> long).</summary>
    public void Fold(Span<long> into)
    {
        into[..Width].Clear();
        for (int s = 0; s < s_stripes; s++)
        {
            int at = LineLongs + s * _stride;
            for (int c = 0; c < Width; c++) into[c] += Volatile.Read(ref _cells[at + c]);
        }
    }
}
