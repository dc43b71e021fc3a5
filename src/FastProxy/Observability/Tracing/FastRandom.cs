using System.Numerics;
using System.Security.Cryptography;

namespace FastProxy.Observability.Tracing;

/// <summary>
/// 64-bit random numbers for trace and span ids: xoshiro256** (Blackman and Vigna, 2018) with its state per thread,
/// seeded from the OS generator on a thread's first use. No lock, no shared cache line, a few nanoseconds a number.
/// Ids need to be unique and unguessable enough not to collide across proxies (W3C Trace Context §3.2.2.3 asks for
/// randomness in the trace-id); they are not secrets, so a cryptographic generator per request would be waste.
/// </summary>
internal static class FastRandom
{
    [ThreadStatic] private static ulong t_s0, t_s1, t_s2, t_s3;

    /// <summary>A random 64-bit value, never 0 (an all-zero trace-id or span-id is invalid, W3C §3.2.2.3-4).</summary>
    public static ulong NextNonZero()
    {
        while (true)
        {
            ulong value = Next();
            if (value != 0) return value;
        }
    }

    public static ulong Next()
    {
        ulong s0 = t_s0, s1 = t_s1, s2 = t_s2, s3 = t_s3;
        if ((s0 | s1 | s2 | s3) == 0)
        {
            Seed(out s0, out s1, out s2, out s3);
        }
        ulong result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = BitOperations.RotateLeft(s3, 45);
        t_s0 = s0;
        t_s1 = s1;
        t_s2 = s2;
        t_s3 = s3;
        return result;
    }

    private static void Seed(out ulong s0, out ulong s1, out ulong s2, out ulong s3)
    {
        Span<ulong> seed = stackalloc ulong[4];
        do
        {
            RandomNumberGenerator.Fill(System.Runtime.InteropServices.MemoryMarshal.AsBytes(seed));
        }
        while ((seed[0] | seed[1] | seed[2] | seed[3]) == 0); // the one state xoshiro cannot leave
        s0 = seed[0];
        s1 = seed[1];
        s2 = seed[2];
        s3 = seed[3];
    }
}
