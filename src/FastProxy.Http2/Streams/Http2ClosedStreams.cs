using System.Runtime.CompilerServices;

namespace FastProxy.Http2.Streams;

/// <summary>
/// How the peer's most recent streams were closed, after their records are gone: a frame arriving on a closed stream
/// is answered by how it was closed (RFC 9113 §5.1, "closed": ignored after we reset it, a stream error after the
/// peer reset it, a connection error after END_STREAM both ways). Two bits for each of the last
/// <see cref="Capacity"/> stream ids the peer may open (one parity: odd for a client), inline in the connection:
/// nothing allocated, 64 octets. Older streams are forgotten and read as <see cref="Http2StreamClosure.None"/>, and
/// so is an id the peer skipped (implicitly closed, §5.1.1).
/// A window over the ids rather than a list of closings: the slot of id n is (n / 2) mod Capacity, reused by
/// n + 2·Capacity, and cleared when the peer opens a stream past it (<see cref="Opened"/>).
/// </summary>
public struct Http2ClosedStreams
{
    /// <summary>
    /// Stream ids remembered: the peer must open this many newer streams before a closed one is forgotten, which is
    /// far more than "a short period" (§5.1) for frames in flight, and more than SETTINGS_MAX_CONCURRENT_STREAMS.
    /// </summary>
    public const int Capacity = 256;

    private const int BitsPerStream = 2;
    private const int StreamsPerWord = 64 / BitsPerStream;

    [InlineArray(Capacity / StreamsPerWord)]
    private struct Words
    {
        private ulong _first;
    }

    private Words _words;

    /// <summary>
    /// The peer opened <paramref name="id"/>, its newest stream, after <paramref name="previous"/>: the slots of the
    /// ids between (skipped, so implicitly closed) and of <paramref name="id"/> itself start empty, forgetting the
    /// ids 2·Capacity below them.
    /// </summary>
    public void Opened(int previous, int id)
    {
        if (id <= previous) return;
        long steps = ((long)id - previous + 1) / 2; // ids of this parity in (previous, id]
        if (steps >= Capacity)
        {
            ((Span<ulong>)_words).Clear();
            return;
        }
        for (int n = id; n > previous; n -= 2) Set(n, Http2StreamClosure.None);
    }

    /// <summary>
    /// Stream <paramref name="id"/> closed as <paramref name="closure"/>, the newest stream being
    /// <paramref name="newest"/>. Not kept when the id is already out of the window (a stream that stayed open while
    /// Capacity newer ones opened).
    /// </summary>
    public void Record(int id, int newest, Http2StreamClosure closure)
    {
        if (InWindow(id, newest)) Set(id, closure);
    }

    /// <summary>How stream <paramref name="id"/> was closed, if it is remembered (None: not, or never opened).</summary>
    public readonly Http2StreamClosure Find(int id, int newest)
    {
        if (!InWindow(id, newest)) return Http2StreamClosure.None;
        int slot = Slot(id);
        return (Http2StreamClosure)((_words[slot / StreamsPerWord] >> (slot % StreamsPerWord * BitsPerStream)) & 0b11);
    }

    private static bool InWindow(int id, int newest) => id > 0 && id <= newest && (long)newest - id < 2L * Capacity && ((id ^ newest) & 1) == 0;

    private static int Slot(int id) => (id >> 1) % Capacity;

    private void Set(int id, Http2StreamClosure closure)
    {
        int slot = Slot(id);
        int shift = slot % StreamsPerWord * BitsPerStream;
        ref ulong word = ref _words[slot / StreamsPerWord];
        word = (word & ~(0b11UL << shift)) | ((ulong)closure << shift);
    }
}
