using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace FastProxy.Policies.Types.BasicAuth;

/// <summary>
/// Successful bcrypt checks, remembered for a while: bcrypt costs 50-100 ms of CPU by design, so a client sending the
/// same right password on every request would otherwise keep a core busy. An entry is an HMAC-SHA256 of "user:password"
/// under a key drawn at random when the process starts: the password is never kept, and the fingerprints are worthless
/// outside this process. Failures are never remembered (nothing to gain, and they would fill the cache). Bounded; one
/// cache per policy instance, so a reload (a changed htpasswd) starts empty.
/// </summary>
internal sealed class VerifiedCache
{
    /// <summary>More than the users of any htpasswd file: the bound only matters against someone who knows a password and varies what bcrypt ignores past byte 72.</summary>
    internal const int Capacity = 10_000;

    private static readonly byte[] s_key = RandomNumberGenerator.GetBytes(32);

    private readonly ConcurrentDictionary<Fingerprint, long> _until = new();
    private readonly TimeProvider _time;
    private readonly long _ttl;

    public VerifiedCache(TimeSpan ttl, TimeProvider time)
    {
        _time = time;
        _ttl = (long)(ttl.TotalSeconds * time.TimestampFrequency);
    }

    public int Count => _until.Count;

    public static Fingerprint Of(ReadOnlySpan<byte> userColonPassword)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(s_key, userColonPassword, mac);
        return new Fingerprint(BinaryPrimitives.ReadUInt128LittleEndian(mac), BinaryPrimitives.ReadUInt128LittleEndian(mac[16..]));
    }

    public bool Contains(in Fingerprint fingerprint)
    {
        if (!_until.TryGetValue(fingerprint, out long until)) return false;
        if (_time.GetTimestamp() < until) return true;
        _until.TryRemove(new KeyValuePair<Fingerprint, long>(fingerprint, until));
        return false;
    }

    public void Add(in Fingerprint fingerprint)
    {
        long now = _time.GetTimestamp();
        if (_until.Count >= Capacity)
        {
            foreach (var (key, until) in _until)
            {
                if (until <= now) _until.TryRemove(new KeyValuePair<Fingerprint, long>(key, until));
            }
            // Still full of live entries: this success is simply not remembered.
            if (_until.Count >= Capacity) return;
        }
        _until[fingerprint] = now + _ttl;
    }
}

/// <summary>An HMAC-SHA256 as a dictionary key (value equality, no allocation).</summary>
internal readonly record struct Fingerprint(UInt128 A, UInt128 B);
