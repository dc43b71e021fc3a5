using System.Security.Cryptography;
using FastProxy.Policies.Consumers;

namespace FastProxy.Policies.Types.ApiKey;

/// <summary>
/// The keys this policy has verified lately, so that a client sending the same key on every request costs a
/// randomly seeded 32-bit hash and one constant-time comparison instead of a SHA-256 (about 0.6 µs, most of the
/// api_key policy's cost). Direct-mapped and fixed in size: a slot holds the last key verified that hashed to it, and
/// a newer one replaces it (the older key simply goes through SHA-256 again). Only keys that were found in the
/// directory are remembered, so an attacker's guesses never enter it, and a hit needs the whole presented key to be
/// equal to the remembered one (CryptographicOperations.FixedTimeEquals). The hash seed is per process
/// (<see cref="HashCode"/>), so nobody outside can aim two keys at one slot on purpose.
/// A policy instance lives as long as its config: a reload builds a new policy and an empty cache, so a key removed
/// from [consumers] stops working at once. The remembered keys stay in this process's memory, as the keys on the
/// wire do for the time they are parsed; they are never written anywhere.
/// </summary>
internal sealed class VerifiedKeyCache
{
    /// <summary>Slots (a power of two): plenty for the distinct keys one proxy sees at once.</summary>
    internal const int Slots = 256;

    /// <summary>Longer keys are not remembered (they still work, through SHA-256 every time).</summary>
    internal const int MaxKeyBytes = 256;

    private readonly Entry?[] _slots = new Entry?[Slots];

    /// <summary>The consumer <paramref name="key"/> was verified for, or null when it is not remembered.</summary>
    public Consumer? Find(ReadOnlySpan<byte> key)
    {
        if (key.Length > MaxKeyBytes) return null;
        var entry = Volatile.Read(ref _slots[Slot(key)]);
        return entry is not null && CryptographicOperations.FixedTimeEquals(entry.Key, key) ? entry.Consumer : null;
    }

    /// <summary>Remembers a key the directory knew (one small allocation, on a miss only).</summary>
    public void Remember(ReadOnlySpan<byte> key, Consumer consumer)
    {
        if (key.Length > MaxKeyBytes) return;
        Volatile.Write(ref _slots[Slot(key)], new Entry(key.ToArray(), consumer));
    }

    private static int Slot(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode() & (Slots - 1);
    }

    private sealed class Entry(byte[] key, Consumer consumer)
    {
        public byte[] Key { get; } = key;
        public Consumer Consumer { get; } = consumer;
    }
}
