using System.Diagnostics;

namespace FastProxy.Balancing;

/// <summary>
/// Peak-EWMA of a server's response times (as Finagle's and Linkerd's p2c use it): a response slower than the average
/// sets the average at once (a server that turns slow is avoided from its first slow answer), a faster one pulls it
/// down exponentially with time constant <see cref="DecaySeconds"/>, and a reader sees the average decayed towards 0
/// by the time since the last response, so a server once slow and then left alone is tried again in time instead of
/// being starved forever.
/// </summary>
/// <remarks>
/// Lock-free and racy on purpose: two responses recorded at the same moment may lose one of the two updates, which
/// moves the average by one sample; the two fields are each read and written atomically (64-bit), never torn.
/// Mutable struct: keep it in a field and call it in place.
/// </remarks>
internal struct ResponseTimeAverage
{
    /// <summary>Finagle's default decay window; long enough to smooth bursts, short enough to follow a server's change.</summary>
    public const double DecaySeconds = 10;

    private static readonly double TicksToSeconds = 1.0 / Stopwatch.Frequency;

    // The average in microseconds, as the bits of a double; 0: no response seen yet.
    private long _averageBits;
    // Stopwatch timestamp of the last update.
    private long _stamp;

    /// <summary>Records a response that took <paramref name="microseconds"/>, seen at Stopwatch time <paramref name="now"/>.</summary>
    public void Record(double microseconds, long now)
    {
        double average = BitConverter.Int64BitsToDouble(Volatile.Read(ref _averageBits));
        if (microseconds < average)
        {
            double elapsed = Math.Max(now - Volatile.Read(ref _stamp), 0) * TicksToSeconds;
            double keep = Math.Exp(-elapsed / DecaySeconds);
            average = average * keep + microseconds * (1 - keep);
        }
        else
        {
            average = microseconds;
        }

        Volatile.Write(ref _averageBits, BitConverter.DoubleToInt64Bits(average));
        Volatile.Write(ref _stamp, now);
    }

    /// <summary>The average in microseconds as of <paramref name="now"/>, decayed towards 0 since the last response; 0 when none yet.</summary>
    public readonly double Current(long now)
    {
        double average = BitConverter.Int64BitsToDouble(Volatile.Read(in _averageBits));
        if (average == 0) return 0;
        double elapsed = Math.Max(now - Volatile.Read(in _stamp), 0) * TicksToSeconds;
        return average * Math.Exp(-elapsed / DecaySeconds);
    }
}
