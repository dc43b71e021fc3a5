using System.Security.Cryptography;

namespace FastProxy.Policies.Types.RateLimit;

/// <summary>
/// store = "local": GCRA state in this process. Bounded (at most <see cref="MaxKeys"/> keys, the least recently used
/// forgotten first, by CLOCK), sharded by the key's hash so cores rarely meet, and lock-free for a key already seen:
/// a lookup walks a hash chain without a lock and counts the request with one compare-and-swap on the key's 64-bit
/// word (exact under any concurrency: two requests cannot both take the last place). Only a new key takes its shard's
/// lock, to claim a slot. Nothing is allocated per request once a slot holds the key; slot memory comes in chunks
/// allocated as the shard fills, never more than max_keys' worth.
/// </summary>
/// <remarks>
/// A slot's word packs a 15-bit generation (bits 63..49), a busy bit (48) and the key's TAT in microseconds since the
/// store started (bits 47..0: 8.9 years). Reusing a slot for another key bumps the generation with the busy bit set,
/// rewrites the key, then clears busy: a lookup that compared the old key cannot then count against the new one,
/// because its compare-and-swap expects the old word.
/// </remarks>
public sealed partial class LocalRateLimitStore : IRateLimitStore
{
    /// <summary>Keys up to this long are kept and compared as they are; longer ones as their SHA-256.</summary>
    public const int InlineKeyBytes = 64;
    private const byte DigestLength = 255;
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;
    /// <summary>How far a lock-free lookup follows a chain before it takes the lock (chains are short: load factor &lt;= 1).</summary>
    private const int MaxLockFreeSteps = 32;

    private const long TatMask = (1L << 48) - 1;
    private const long BusyBit = 1L << 48;
    private const int GenerationShift = 49;

    private readonly Shard[] _shards;
    private readonly int _shardShift;
    private readonly TimeProvider _time;
    private readonly long _epoch;
    private readonly long _ticksPerMicro;
    private readonly double _microsPerTick;

    public LocalRateLimitStore(int maxKeys, TimeProvider? time = null)
    {
        if (maxKeys < 1) throw new ArgumentOutOfRangeException(nameof(maxKeys));
        MaxKeys = maxKeys;
        _time = time ?? TimeProvider.System;
        // Enough shards that cores rarely share one, each holding at least 16 keys.
        int shardCount = 1;
        while (shardCount < Environment.ProcessorCount * 8 && shardCount < 256 && (shardCount * 2) * 16 <= maxKeys) shardCount *= 2;
        _shardShift = 32 - System.Numerics.BitOperations.Log2((uint)shardCount);
        _shards = new Shard[shardCount];
        int perShard = maxKeys / shardCount, extra = maxKeys % shardCount;
        for (int i = 0; i < shardCount; i++) _shards[i] = new Shard(perShard + (i < extra ? 1 : 0));
        long frequency = _time.TimestampFrequency;
        _ticksPerMicro = frequency % 1_000_000 == 0 ? frequency / 1_000_000 : 0;
        _microsPerTick = 1_000_000.0 / frequency;
        // Start at one second, not zero: a TAT of 0 then always means "in the past".
        _epoch = _time.GetTimestamp() - frequency;
    }

    /// <summary>The most keys kept (the configured max_keys).</summary>
    public int MaxKeys { get; }

    /// <summary>Keys held now (at most <see cref="MaxKeys"/>).</summary>
    public int Count
    {
        get
        {
            int count = 0;
            foreach (var shard in _shards) count += Volatile.Read(ref shard.Count);
            return count;
        }
    }

    /// <summary>The store's clock: microseconds since it started (plus one second).</summary>
    public long NowMicros()
    {
        long ticks = _time.GetTimestamp() - _epoch;
        return _ticksPerMicro > 0 ? ticks / _ticksPerMicro : (long)(ticks * _microsPerTick);
    }

    public bool TryAcquire(ReadOnlySpan<byte> key, RateLimitRule rule, out RateLimitDecision decision)
    {
        decision = Acquire(key, rule);
        return true;
    }

    public ValueTask<RateLimitDecision> AcquireAsync(ReadOnlySpan<byte> key, RateLimitRule rule) => new(Acquire(key, rule));

    /// <summary>Counts one request against <paramref name="key"/> under <paramref name="rule"/>.</summary>
    public RateLimitDecision Acquire(ReadOnlySpan<byte> key, RateLimitRule rule)
    {
        Span<byte> digest = stackalloc byte[32];
        byte length;
        scoped ReadOnlySpan<byte> stored = key;
        if (key.Length > InlineKeyBytes)
        {
            SHA256.HashData(key, digest);
            stored = digest;
            length = DigestLength;
        }
        else
        {
            length = (byte)key.Length;
        }
        var hasher = new HashCode(); // seeded per process: a client cannot aim keys at one chain
        hasher.AddBytes(stored);
        hasher.Add(length);
        int hash = hasher.ToHashCode();
        var shard = _shards[_shardShift == 32 ? 0 : (int)((uint)hash >> _shardShift)];
        long now = NowMicros();
        if (shard.TryCountLockFree(stored, length, hash, rule, now, out var decision)) return decision;
        return shard.CountLocked(stored, length, hash, rule, now);
    }

    /// <summary>One slice of the keys, with its own lock (taken only to add a key) and its own CLOCK hand.</summary>
    private sealed partial class Shard
    {
        private readonly int _capacity;
        // Per bucket: the first slot of its chain, plus one (0: empty).
        private readonly int[] _buckets;
        private readonly int _bucketMask;
        private readonly Chunk?[] _chunks;
        private readonly Lock _lock = new();
        private int _hand;
        public int Count;

        public Shard(int capacity)
        {
            _capacity = Math.Max(1, capacity);
            int buckets = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_capacity);
            _buckets = new int[buckets];
            _bucketMask = buckets - 1;
            _chunks = new Chunk?[(_capacity + ChunkSize - 1) / ChunkSize];
        }

        public bool TryCountLockFree(ReadOnlySpan<byte> key, byte length, int hash, RateLimitRule rule, long now, out RateLimitDecision decision)
        {
            int next = Volatile.Read(ref _buckets[hash & _bucketMask]);
            for (int steps = 0; next != 0 && steps < MaxLockFreeSteps; steps++)
            {
                int slot = next - 1;
                var chunk = Volatile.Read(ref _chunks[slot >> ChunkBits]);
                if (chunk is null) break;
                int i = slot & (ChunkSize - 1);
                long word = Volatile.Read(ref chunk.Words[i]);
                if ((word & BusyBit) == 0 && chunk.Hashes[i] == hash && chunk.Lengths[i] == length
                    && chunk.KeyAt(i, key.Length).SequenceEqual(key))
                {
                    // The key was in this slot when the word was read; the CAS below fails if the slot changed since.
                    if (chunk.Referenced[i] == 0) chunk.Referenced[i] = 1;
                    return TryCount(chunk, i, word, rule, now, out decision);
                }
                next = Volatile.Read(ref chunk.Next[i]);
            }
            decision = default;
            return false;
        }

        /// <summary>
        /// GCRA with compare-and-swap on the slot's word, which was read as <paramref name="word"/> while it held the key.
        /// False when the slot was taken over by another key in between (the caller goes the locked way).
        /// </summary>
        private static bool TryCount(Chunk chunk, int i, long word, RateLimitRule rule, long now, out RateLimitDecision decision)
        {
            long generation = word & ~(BusyBit | TatMask);
            while (true)
            {
                var result = rule.Apply(word & TatMask, now, out long tat);
                // A refusal changes nothing, so it needs no swap; but the key compared must still be this word's: a
                // slot taken over since the word was read has a new generation (set before its key bytes change).
                if (!result.IsAllowed)
                {
                    decision = result;
                    return (Volatile.Read(ref chunk.Words[i]) & ~TatMask) == generation;
                }
                long seen = Interlocked.CompareExchange(ref chunk.Words[i], generation | (tat & TatMask), word);
                if (seen == word)
                {
                    decision = result;
                    return true;
                }
                if ((seen & ~TatMask) != generation)
                {
                    decision = default;
                    return false; // the slot went to another key (or is being rewritten)
                }
                word = seen; // another request of the same key counted first: apply GCRA again to its result
            }
        }

        public RateLimitDecision CountLocked(ReadOnlySpan<byte> key, byte length, int hash, RateLimitRule rule, long now)
        {
            lock (_lock)
            {
                ref int bucket = ref _buckets[hash & _bucketMask];
                for (int next = bucket; next != 0;)
                {
                    int slot = next - 1;
                    var chunk = _chunks[slot >> ChunkBits]!;
                    int i = slot & (ChunkSize - 1);
                    if (chunk.Hashes[i] == hash && chunk.Lengths[i] == length && chunk.KeyAt(i, key.Length).SequenceEqual(key))
                    {
                        chunk.Referenced[i] = 1;
                        // Only lock holders set busy, so this cannot fail for a slot change; it retries on other counts.
                        TryCount(chunk, i, Volatile.Read(ref chunk.Words[i]), rule, now, out var found);
                        return found;
                    }
                    next = chunk.Next[i];
                }
                // A key not seen (or forgotten): a full bucket.
                var decision = rule.Apply(0, now, out long tat);
                int claimed = Claim(now);
                Write(claimed, key, length, hash, decision.IsAllowed ? tat : 0);
                return decision;
            }
        }

        /// <summary>A free slot, or the one CLOCK picks to forget. Under the lock.</summary>
        private int Claim(long now)
        {
            if (Count < _capacity)
            {
                int slot = Count;
                if (_chunks[slot >> ChunkBits] is null)
                {
                    int size = Math.Min(ChunkSize, _capacity - (slot & ~(ChunkSize - 1)));
                    Volatile.Write(ref _chunks[slot >> ChunkBits], new Chunk(size));
                }
                Volatile.Write(ref Count, slot + 1);
                return slot;
            }
            // CLOCK: a slot used since the hand last passed gets a second chance; one whose bucket is full again (TAT
            // in the past) goes first, as forgetting it changes nothing. Two turns always find one.
            for (int turn = 0; turn < 2 * _capacity; turn++)
            {
                int slot = _hand;
                _hand = slot + 1 == _capacity ? 0 : slot + 1;
                var chunk = _chunks[slot >> ChunkBits]!;
                int i = slot & (ChunkSize - 1);
                if ((Volatile.Read(ref chunk.Words[i]) & TatMask) <= now || chunk.Referenced[i] == 0)
                {
                    Unlink(slot, chunk, i);
                    return slot;
                }
                chunk.Referenced[i] = 0;
            }
            int last = _hand;
            var c = _chunks[last >> ChunkBits]!;
            Unlink(last, c, last & (ChunkSize - 1));
            return last;
        }

        private void Unlink(int slot, Chunk chunk, int i)
        {
            ref int link = ref _buckets[chunk.Hashes[i] & _bucketMask];
            while (link != 0)
            {
                if (link - 1 == slot)
                {
                    Volatile.Write(ref link, chunk.Next[i]);
                    return;
                }
                int at = link - 1;
                link = ref _chunks[at >> ChunkBits]!.Next[at & (ChunkSize - 1)];
            }
        }

        private void Write(int slot, ReadOnlySpan<byte> key, byte length, int hash, long tat)
        {
            var chunk = _chunks[slot >> ChunkBits]!;
            int i = slot & (ChunkSize - 1);
            long generation = (long)((((ulong)Volatile.Read(ref chunk.Words[i]) >> GenerationShift) + 1) & 0x7FFF) << GenerationShift;
            // Busy first: a lookup that reads the word now goes the locked way; one that read it before fails its CAS.
            Interlocked.Exchange(ref chunk.Words[i], generation | BusyBit);
            key.CopyTo(chunk.Keys.AsSpan(i * InlineKeyBytes));
            chunk.Hashes[i] = hash;
            chunk.Lengths[i] = length;
            chunk.Referenced[i] = 1;
            ref int bucket = ref _buckets[hash & _bucketMask];
            chunk.Next[i] = bucket;
            Volatile.Write(ref chunk.Words[i], generation | (tat & TatMask));
            Volatile.Write(ref bucket, slot + 1);
        }
    }

    /// <summary>Up to 1,024 slots' state, side by side (about 82 bytes a slot).</summary>
    private sealed class Chunk(int size)
    {
        public readonly long[] Words = new long[size];
        public readonly int[] Hashes = new int[size];
        public readonly int[] Next = new int[size];
        public readonly byte[] Lengths = new byte[size];
        public readonly byte[] Referenced = new byte[size];
        public readonly byte[] Keys = new byte[size * InlineKeyBytes];

        public ReadOnlySpan<byte> KeyAt(int i, int length) => Keys.AsSpan(i * InlineKeyBytes, length);
    }
}
