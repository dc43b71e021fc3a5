using System.Numerics;
using FastProxy.Policies.Consumers;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>A token whose signature was checked, with all the policy made of it; immutable, shared by the requests that present it.</summary>
internal sealed class VerifiedToken
{
    /// <summary>The whole token as presented: a hit must match it byte for byte, so a valid signature with another payload is no hit.</summary>
    public required byte[] Token { get; init; }
    /// <summary>"exp" and "nbf" in seconds since the epoch (long.MaxValue / long.MinValue: absent); checked again on every hit.</summary>
    public long Expires { get; init; } = long.MaxValue;
    public long NotBefore { get; init; } = long.MinValue;
    public required JwtClaims Claims { get; init; }
    public Consumer? Consumer { get; init; }
    /// <summary>The key that verified it: when a refresh drops that key, the token is no longer taken from the cache.</summary>
    public required JwtKey Key { get; init; }
    /// <summary>The value for each claims_to_headers entry, in order; null: the claim is absent or not fit for a header.</summary>
    public required byte[]?[] HeaderValues { get; init; }
}

/// <summary>
/// Verified tokens by signature: a fixed array of slots (a power of two), one token per slot, the newest wins. Lookups
/// and inserts take no lock and allocate nothing; a reader sees a whole entry or none. A repeated token then costs a
/// hash of part of its signature, one comparison of its bytes and the expiry check, never a signature check.
/// </summary>
internal sealed class TokenCache
{
    /// <summary>The signature's last characters are as random as the signature (an entry gets in only once verified).</summary>
    private const int HashedBytes = 32;

    private readonly VerifiedToken?[] _slots;
    private readonly int _mask;

    public TokenCache(int size)
    {
        int slots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(size, 1));
        _slots = new VerifiedToken?[slots];
        _mask = slots - 1;
    }

    public int Capacity => _slots.Length;

    public VerifiedToken? Find(ReadOnlySpan<byte> token, ReadOnlySpan<byte> signature)
    {
        var entry = Volatile.Read(ref _slots[Slot(signature)]);
        if (entry is null || !token.SequenceEqual(entry.Token) || entry.Key.Retired) return null;
        return entry;
    }

    public void Add(VerifiedToken entry, ReadOnlySpan<byte> signature) => Volatile.Write(ref _slots[Slot(signature)], entry);

    private int Slot(ReadOnlySpan<byte> signature)
    {
        var hash = new HashCode();
        hash.AddBytes(signature.Length > HashedBytes ? signature[^HashedBytes..] : signature);
        return hash.ToHashCode() & _mask;
    }
}
