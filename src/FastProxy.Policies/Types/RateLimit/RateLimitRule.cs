using System.Text;
using FastProxy.Configuration;

namespace FastProxy.Policies.Types.RateLimit;

/// <summary>
/// One rate as the stores apply it, by GCRA (the generic cell rate algorithm): a key may make a request every
/// <see cref="IntervalMicros"/> on average, and up to <see cref="Burst"/> at once. Its whole state is one time, the
/// theoretical arrival time (TAT): when the key's bucket would be empty again. Built once at load per rate (the
/// policy's own, and one per plan); immutable and shared by every request.
/// </summary>
public sealed class RateLimitRule
{
    public RateLimitRule(string name, int index, RateLimitRate rate, long? burst)
    {
        Name = name;
        NameBytes = Encoding.UTF8.GetBytes(name);
        Index = index;
        Limit = rate.Count;
        Period = rate.Period;
        Burst = burst ?? rate.Count;
        // Microseconds: 48 bits of them last 8.9 years of uptime, and the validator keeps rates at most 1,000,000/s.
        IntervalMicros = Math.Max(1, (long)Math.Round(rate.Period.Ticks / 10.0 / rate.Count));
        CapacityMicros = IntervalMicros * Burst;
    }

    /// <summary>"default" for the policy's own rate, else the plan's name (the RateLimit-Policy item's name).</summary>
    public string Name { get; }
    public byte[] NameBytes { get; }
    /// <summary>0 for the policy's own rate, 1.. for plans in file order; part of every key, so rates never share state.</summary>
    public int Index { get; }
    /// <summary>Requests per <see cref="Period"/> (the configured count).</summary>
    public long Limit { get; }
    public TimeSpan Period { get; }
    /// <summary>How many requests a key with a full bucket may make at once.</summary>
    public long Burst { get; }
    /// <summary>The emission interval T = period / limit.</summary>
    public long IntervalMicros { get; }
    /// <summary>The bucket's depth in time, T x burst: a request is admitted while TAT + T - now &lt;= this.</summary>
    public long CapacityMicros { get; }

    /// <summary>True when both rules admit exactly the same requests (a reload may then keep the counts).</summary>
    public bool SameAs(RateLimitRule other) =>
        Index == other.Index && IntervalMicros == other.IntervalMicros && Burst == other.Burst && Limit == other.Limit && Period == other.Period;

    /// <summary>
    /// GCRA on one key's theoretical arrival time <paramref name="tat"/> (0: never seen) at <paramref name="now"/>,
    /// both in the store's microseconds. Returns the decision, and the TAT to store when it is allowed (a refused
    /// request changes nothing). A remote store's server-side script computes the same.
    /// </summary>
    public RateLimitDecision Apply(long tat, long now, out long newTat)
    {
        long start = tat > now ? tat : now;
        newTat = start + IntervalMicros;
        long ahead = newTat - now; // how far into the bucket this request reaches
        if (ahead > CapacityMicros)
        {
            // Refused: the earliest moment it would fit is when ahead shrinks to the capacity.
            long retry = ahead - CapacityMicros;
            long used = start - now;
            newTat = tat;
            return RateLimitDecision.Limited(Remaining(used), retry, used);
        }
        return RateLimitDecision.Allowed(Remaining(ahead), ahead);
    }

    /// <summary>Requests still admitted right now when the bucket is filled up to <paramref name="ahead"/>.</summary>
    private long Remaining(long ahead)
    {
        long free = CapacityMicros - ahead;
        return free <= 0 ? 0 : free / IntervalMicros;
    }
}
