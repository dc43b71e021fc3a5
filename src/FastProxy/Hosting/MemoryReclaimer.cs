using System.Diagnostics;
using FastProxy.Async;
using FastProxy.Diagnostics;
using FastProxy.Forwarding;
using FastProxy.Transport;

namespace FastProxy.Hosting;

/// <summary>
/// Gives memory back after a burst. The pools grow to the peak number of requests in flight (a pinned block per
/// request being received, a state-machine box per async call in progress, parsed heads, buffer segments) and the GC
/// heap to the burst's garbage; once the burst has been answered, idle keep-alive connections hold none of it, yet
/// the process kept it all for ever: the pools gave back a little every ten seconds, and a request path that
/// allocates nothing never triggers the full collection that frees pinned blocks and decommits emptied memory
/// (5,000 clients sending at once left 11 KB of RSS per idle connection, against 2.6 KB when the same connections
/// came one after another).
/// </summary>
/// <remarks>
/// Driven by the heartbeat, once a second for the whole process (every host calls it; the schedule is shared). Each
/// check looks at the second just gone: blocks that stayed free all through it were not needed. When they come to at
/// least <see cref="MinReclaimBytes"/> beyond what the busiest moment of that second used, the process has gone
/// quiet after a burst, and reclaiming starts: at this check and each following one the pools let go of what stayed
/// unused through the second (the block pools keep as many blocks as its busiest moment used), until a check finds
/// less than <see cref="MinReclaimBytes"/> left to let go. Then, once, if what was let go is worth it against the
/// heap's size (<see cref="ShouldCollect"/>), one aggressive full collection frees it with the burst's garbage and
/// decommits the emptied memory: a couple of seconds after the last answer. Under steady load a second's idle blocks
/// are few and nothing happens beyond the slow trim every <see cref="TrimIntervalMs"/>; nothing here runs on the
/// request path.
/// </remarks>
internal static class MemoryReclaimer
{
    /// <summary>The quiet check's period: a block unused for this long is not needed at the current rate.</summary>
    public const long CheckIntervalMs = 1000;

    /// <summary>The slow trim under steady load: half of what stayed free for the whole interval.</summary>
    public const long TrimIntervalMs = 10_000;

    /// <summary>
    /// Idle pooled bytes that make a quiet period after a burst: 256 small blocks (requests in flight at once beyond
    /// the current rate). Below it the slow trim is enough, and the pools are not churned for a few blocks.
    /// </summary>
    public const long MinReclaimBytes = 1 << 20;

    /// <summary>
    /// A full collection pauses the process for a time that grows with the live heap; it is forced only when what it
    /// would free (the blocks let go since the last one, and the heap's free space) is at least this fraction (1/8) of
    /// the GC's committed memory, so that a large heap is not collected for a few MiB (the GC gets to those on its
    /// own, later).
    /// </summary>
    public const int CollectFractionShift = 3;

    private static readonly Lock s_lock = new();
    private static long s_nextCheckMs;
    private static long s_nextTrimMs;
    /// <summary>Bytes the pools let go since the last forced collection: garbage the GC has not had a reason to free.</summary>
    private static long s_uncollected;
    private static int s_fullCollections;
    /// <summary>A burst's leftovers are being let go (set by a quiet check, cleared by the first check that finds little).</summary>
    private static bool s_reclaiming;

    /// <summary>What a pooled object (a state-machine box, a head, a segment) is counted as, for the collection's worth.</summary>
    private const int EstimatedObjectBytes = 128;

    /// <summary>
    /// Whether the heartbeat's checks may force the full collection (always, in the binary). The test assembly turns it
    /// off: its process hosts hundreds of in-process proxies on the test runner's own heap, where a forced aggressive
    /// collection pauses every test's proxy at once; its tests of the reclaim call <see cref="ReclaimIfQuiet"/>, which
    /// still collects.
    /// </summary>
    internal static bool HeartbeatCollects { get; set; } = true;

    /// <summary>From every host's heartbeat; runs the check and the slow trim when they are due.</summary>
    public static void OnHeartbeat(long nowMs)
    {
        if (nowMs < Volatile.Read(ref s_nextCheckMs)) return;
        lock (s_lock)
        {
            if (nowMs < s_nextCheckMs) return;
            s_nextCheckMs = nowMs + CheckIntervalMs;
            if (nowMs >= s_nextTrimMs)
            {
                s_nextTrimMs = nowMs + TrimIntervalMs;
                PipeSettings.TrimPools();
            }
            CheckLocked(HeartbeatCollects);
        }
    }

    /// <summary>
    /// The quiet check (the heartbeat's, callable at any time, e.g. by a test after a burst): closes the period since
    /// the previous check and, if it was quiet, gives back what stayed unused through it.
    /// </summary>
    public static ReclaimResult ReclaimIfQuiet()
    {
        lock (s_lock) return CheckLocked(mayCollect: true);
    }

    private static ReclaimResult CheckLocked(bool mayCollect)
    {
        var small = PipeSettings.SmallBlocks;
        var large = PipeSettings.LargeBlocks;
        small.SampleIdle(out int smallIdle, out int smallPeak);
        large.SampleIdle(out int largeIdle, out int largePeak);
        // Keep as many idle blocks as the period's busiest moment used: the same activity again allocates nothing.
        int smallSpare = Math.Max(0, smallIdle - smallPeak);
        int largeSpare = Math.Max(0, largeIdle - largePeak);
        long spareBytes = (long)smallSpare * small.BlockSize + (long)largeSpare * large.BlockSize;
        bool quiet = spareBytes >= MinReclaimBytes;
        bool reclaiming = quiet || s_reclaiming;
        // The object pools' periods run alongside: every check ends one, and while reclaiming what stayed idle goes.
        int objects = BoundedStacks.ReleaseIdle(reclaiming) + HeadPool.ReleaseIdle(reclaiming)
            + LeanSocket.BlockSegment.ReleaseIdle(reclaiming);
        if (!reclaiming) return default;

        long released = (long)small.Release(smallSpare) * small.BlockSize + (long)large.Release(largeSpare) * large.BlockSize;
        // A full collection since the last release (the GC's own) has freed what was let go before it.
        int full = GC.CollectionCount(GC.MaxGeneration);
        if (full != s_fullCollections) s_uncollected = 0;
        s_uncollected += released + (long)objects * EstimatedObjectBytes;
        s_fullCollections = full;
        // Still letting go of a burst's worth: the next check goes on; the collection waits for the end of it.
        s_reclaiming = quiet;
        if (quiet) return new ReclaimResult(released, objects, Collected: false);

        // As of the last collection: the heap's size, and its free space between live objects (a burst's garbage, and
        // the holes blocks freed by an earlier collection left between the ones still in use then).
        var info = GC.GetGCMemoryInfo();
        long committed = info.TotalCommittedBytes;
        bool collect = mayCollect && ShouldCollect(s_uncollected, info.FragmentedBytes, committed);
        if (collect)
        {
            // Blocking and compacting (Aggressive requires both): frees the released pinned blocks and the burst's
            // garbage, moves the survivors together and decommits the memory left empty.
            long started = Stopwatch.GetTimestamp();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            long pauseMs = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            s_fullCollections = GC.CollectionCount(GC.MaxGeneration);
            Log.MemoryReclaimed(s_uncollected >> 10, committed >> 10, GC.GetGCMemoryInfo().TotalCommittedBytes >> 10, pauseMs);
        }
        s_uncollected = 0;
        return new ReclaimResult(released, objects, collect);
    }

    /// <summary>
    /// Whether a full collection is worth it for <paramref name="uncollectedBytes"/> let go by the pools on a heap of
    /// <paramref name="committedBytes"/> of which <paramref name="fragmentedBytes"/> were free at the last collection.
    /// </summary>
    public static bool ShouldCollect(long uncollectedBytes, long fragmentedBytes, long committedBytes)
        => uncollectedBytes >= MinReclaimBytes && uncollectedBytes + fragmentedBytes >= committedBytes >> CollectFractionShift;
}

/// <summary>What one quiet check gave back: pooled buffer bytes, pooled objects, and whether it forced a collection.</summary>
internal readonly record struct ReclaimResult(long ReleasedBytes, int ReleasedObjects, bool Collected);
