using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// The fixed buckets of the duration histograms (seconds, as agreed for the dashboard), as Stopwatch ticks so that
/// recording is a comparison of longs: a histogram is <see cref="Cells"/> cells of a <see cref="StripedCells"/> row,
/// one per bucket (not cumulative; the writer adds them up), one past the last bound (+Inf), and the sum in ticks.
/// </summary>
internal static class Histogram
{
    public static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The bounds as their text in the exposition (le="0.001"...).</summary>
    public static readonly string[] BoundText = [.. Bounds.Select(b => b.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private static readonly long[] s_tickBounds = [.. Bounds.Select(b => (long)Math.Ceiling(b * Stopwatch.Frequency))];

    /// <summary>Buckets including +Inf, plus the sum.</summary>
    public const int Cells = 13 + 1 + 1;

    /// <summary>The cell of the sum, after the buckets.</summary>
    public const int SumCell = 14;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bucket(long ticks)
    {
        var bounds = s_tickBounds;
        int i = 0;
        while (i < bounds.Length && ticks > bounds[i]) i++;
        return i;
    }

    /// <summary>Records one observation of <paramref name="ticks"/> in the histogram starting at <paramref name="first"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Record(StripedCells cells, int stripe, int first, long ticks)
    {
        if (ticks < 0) ticks = 0;
        cells.Increment(stripe, first + Bucket(ticks));
        cells.Add(stripe, first + SumCell, ticks);
    }
}
