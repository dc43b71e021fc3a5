using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// A cache policy's entries, in memory, bounded by max_size in bytes: a hash table by URL (host, path, query; the
/// variants of one URL — consumers, Vary — chained in its bucket) and a least-recently-used list; adding past the
/// bound evicts from the old end. One lock: a hit holds it for a lookup and a move to the front, nothing allocates.
/// Also the misses in flight (one fill per URL: the others wait for it).
/// </summary>
internal sealed class CacheStore(long maxSize)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, CacheEntry> _buckets = [];
    private readonly Dictionary<int, Fill> _fills = [];
    private CacheEntry? _newest, _oldest;
    private long _bytes;
    private int _count;
    private long _evictions;

    public long MaxSize { get; } = maxSize;
    public long Bytes => Volatile.Read(ref _bytes);
    public int Count => Volatile.Read(ref _count);
    public long Evictions => Volatile.Read(ref _evictions);

    public static int HashOf(ReadOnlySpan<byte> host, ReadOnlySpan<byte> path, ReadOnlySpan<byte> query)
    {
        var hash = new HashCode();
        foreach (var b in host) hash.Add((byte)(b is >= (byte)'A' and <= (byte)'Z' ? b | 0x20 : b));
        hash.Add(-1);
        hash.AddBytes(path);
        hash.Add(-2);
        hash.AddBytes(query);
        return hash.ToHashCode();
    }

    /// <summary>The variant the request selects, made the most recently used; null: none stored.</summary>
    public CacheEntry? Find(int hash, ReadOnlySpan<byte> host, ReadOnlySpan<byte> path, ReadOnlySpan<byte> query, string? consumer, bool authorized,
        PolicyContext context, int encodingFlags)
    {
        lock (_lock)
        {
            if (!_buckets.TryGetValue(hash, out var entry)) return null;
            for (; entry is not null; entry = entry.NextInBucket)
            {
                if (entry.SameOwner(consumer, authorized) && entry.SameKey(host, path, query) && entry.Matches(context, encodingFlags))
                {
                    Touch(entry);
                    return entry;
                }
            }
            return null;
        }
    }

    /// <summary>Stores <paramref name="entry"/>, replacing its variant; false when it cannot fit at all.</summary>
    public bool Add(CacheEntry entry)
    {
        long size = entry.Size;
        if (size > MaxSize) return false;
        lock (_lock)
        {
            // The variant it replaces (and the old variants of a URL whose Vary changed) go first.
            if (_buckets.TryGetValue(entry.Hash, out var existing))
            {
                for (var e = existing; e is not null;)
                {
                    var next = e.NextInBucket;
                    if (e.SameKey(entry.Host, entry.Path, entry.Query) && e.SameVariant(entry)) Remove(e);
                    e = next;
                }
            }
            while (_bytes + size > MaxSize && _oldest is not null)
            {
                Remove(_oldest);
                _evictions++;
            }
            entry.NextInBucket = _buckets.GetValueOrDefault(entry.Hash);
            _buckets[entry.Hash] = entry;
            entry.Newer = null;
            entry.Older = _newest;
            if (_newest is not null) _newest.Newer = entry;
            _newest = entry;
            _oldest ??= entry;
            entry.Stored = true;
            Volatile.Write(ref _bytes, _bytes + size);
            Volatile.Write(ref _count, _count + 1);
            return true;
        }
    }

    /// <summary>Puts <paramref name="fresh"/> in the place of <paramref name="old"/> (a 304 refreshed it); false when the old one is gone meanwhile.</summary>
    public bool Replace(CacheEntry old, CacheEntry fresh)
    {
        lock (_lock)
        {
            if (!old.Stored) return false;
            Remove(old);
        }
        return Add(fresh);
    }

    public void Evict(CacheEntry entry)
    {
        lock (_lock)
        {
            if (entry.Stored) Remove(entry);
        }
    }

    /// <summary>Removes every variant of one URL (an unsafe method succeeded on it, or a purge named it); how many went.</summary>
    public int Invalidate(ReadOnlySpan<byte> host, ReadOnlySpan<byte> path, ReadOnlySpan<byte> query)
    {
        int hash = HashOf(host, path, query);
        int removed = 0;
        lock (_lock)
        {
            if (!_buckets.TryGetValue(hash, out var entry)) return 0;
            while (entry is not null)
            {
                var next = entry.NextInBucket;
                if (entry.SameKey(host, path, query))
                {
                    Remove(entry);
                    removed++;
                }
                entry = next;
            }
        }
        return removed;
    }

    /// <summary>Removes every entry whose key text (host + path + "?query") starts with <paramref name="prefix"/>; how many went.</summary>
    public int PurgePrefix(string prefix)
    {
        int removed = 0;
        lock (_lock)
        {
            for (var entry = _oldest; entry is not null;)
            {
                var newer = entry.Newer;
                if (KeyText(entry).StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    Remove(entry);
                    removed++;
                }
                entry = newer;
            }
        }
        return removed;
    }

    public static string KeyText(CacheEntry entry)
        => Encoding.Latin1.GetString(entry.Host).ToLowerInvariant() + Encoding.Latin1.GetString(entry.Path)
           + (entry.Query.Length > 0 ? "?" + Encoding.Latin1.GetString(entry.Query) : "");

    private void Touch(CacheEntry entry)
    {
        if (_newest == entry) return;
        Unlink(entry);
        entry.Older = _newest;
        entry.Newer = null;
        if (_newest is not null) _newest.Newer = entry;
        _newest = entry;
        _oldest ??= entry;
    }

    private void Unlink(CacheEntry entry)
    {
        if (entry.Newer is not null) entry.Newer.Older = entry.Older;
        else _newest = entry.Older;
        if (entry.Older is not null) entry.Older.Newer = entry.Newer;
        else _oldest = entry.Newer;
        entry.Newer = entry.Older = null;
    }

    private void Remove(CacheEntry entry)
    {
        Unlink(entry);
        if (_buckets.TryGetValue(entry.Hash, out var first))
        {
            if (first == entry)
            {
                if (entry.NextInBucket is null) _buckets.Remove(entry.Hash);
                else _buckets[entry.Hash] = entry.NextInBucket;
            }
            else
            {
                for (var e = first; e.NextInBucket is not null; e = e.NextInBucket)
                {
                    if (e.NextInBucket == entry)
                    {
                        e.NextInBucket = entry.NextInBucket;
                        break;
                    }
                }
            }
        }
        entry.NextInBucket = null;
        entry.Stored = false;
        Volatile.Write(ref _bytes, _bytes - entry.Size);
        Volatile.Write(ref _count, _count - 1);
    }

    // --- Misses in flight (request coalescing) ---

    /// <summary>One miss being fetched for a URL; the others wait on <see cref="Done"/>.</summary>
    internal sealed class Fill(int hash, long startedMs)
    {
        public int Hash { get; } = hash;
        public long StartedMs { get; } = startedMs;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// The fill in flight for this URL (the caller waits for it), or null after making the caller's own (it leads:
    /// <paramref name="mine"/>). A fill older than <paramref name="staleAfterMs"/> is taken over (its leader failed silently).
    /// </summary>
    public Fill? JoinOrLead(int hash, long nowMs, long staleAfterMs, out Fill? mine)
    {
        lock (_lock)
        {
            if (_fills.TryGetValue(hash, out var fill) && nowMs - fill.StartedMs < staleAfterMs)
            {
                mine = null;
                return fill;
            }
            mine = new Fill(hash, nowMs);
            _fills[hash] = mine;
            fill?.Done.TrySetResult();
            return null;
        }
    }

    public void EndFill(Fill fill)
    {
        lock (_lock)
        {
            if (_fills.TryGetValue(fill.Hash, out var current) && current == fill) _fills.Remove(fill.Hash);
        }
        fill.Done.TrySetResult();
    }
}
