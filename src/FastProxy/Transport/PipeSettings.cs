using System.IO.Pipelines;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Transport;

/// <summary>
/// How every socket's pipes are set up. Continuations run inline on the socket engine's thread: a request is
/// parsed, routed and forwarded on the thread that received it, with no thread-pool hop (the hop alone
/// doubled CPU per request: docs/architecture.md). Nothing here may block.
/// </summary>
internal static class PipeSettings
{
    /// <summary>
    /// Back-pressure: a pipe holding this much unread data stops its writer (socket reads or our copies) until
    /// the reader drains it below <see cref="ResumeThreshold"/>. This bounds the memory of every stream.
    /// </summary>
    public const long PauseThreshold = 128 * 1024;
    public const long ResumeThreshold = 64 * 1024;

    /// <summary>
    /// Segment sizes decide how many syscalls a body takes and how much memory a request in flight holds. A socket
    /// read fills at most one segment; a send gathers every buffered segment into one sendmsg, so send segments can
    /// be small. Client receive buffers are held while a request is forwarded (for a retry), so they are small too;
    /// upstream receive buffers live only from a read to its forwarding, so they are large enough for a 16 KiB
    /// response in one read (with 4 KiB pages it took 15 syscalls to nginx's 10).
    /// </summary>
    public const int SmallBlock = 4 * 1024;
    public const int LargeBlock = 32 * 1024;

    /// <summary>Pinned block pools behind every pipe (see <see cref="BlockMemoryPool"/>).</summary>
    public static readonly BlockMemoryPool SmallBlocks = new(SmallBlock);
    public static readonly BlockMemoryPool LargeBlocks = new(LargeBlock);

    private static PipeOptions Create(BlockMemoryPool pool) => new(
        pool: pool,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: PauseThreshold,
        resumeWriterThreshold: ResumeThreshold,
        minimumSegmentSize: pool.BlockSize,
        useSynchronizationContext: false);

    public static readonly PipeOptions ClientReceive = Create(SmallBlocks);
    public static readonly PipeOptions Send = Create(SmallBlocks);
    public static readonly PipeOptions UpstreamReceive = Create(LargeBlocks);

    /// <summary>Gives back pool blocks unused for a while (called every few seconds).</summary>
    public static void TrimPools()
    {
        SmallBlocks.Trim();
        LargeBlocks.Trim();
    }

    /// <summary>
    /// L4 (tcp listener) client connections wait for data with a zero-length read, so an idle connection holds no
    /// receive buffer (nginx and HAProxy stay near 1 KB per idle connection the same way). Plain HTTP client
    /// connections are <see cref="LeanSocket"/>s, which wait the same way without the pipes.
    /// </summary>
    public const SocketConnectionOptions Client =
        SocketConnectionOptions.ZeroLengthReads | SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites;

    /// <summary>
    /// Upstream connections wait with zero-length reads too. Reading straight into a buffer saves two syscalls per
    /// response (Pipelines.Sockets.Unofficial's FIONREAD check and the runtime's 1-byte MSG_PEEK), but then every
    /// pooled idle connection pins a 32 KiB receive buffer: measured, 1,000 pooled connections held ~40 MB live.
    /// </summary>
    public const SocketConnectionOptions Upstream =
        SocketConnectionOptions.ZeroLengthReads | SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites;

    /// <summary>
    /// Run socket completions on the epoll thread rather than queueing them to the thread pool. The runtime reads
    /// this once, when the first socket is created, so it must be set before that; a user's explicit setting wins.
    /// </summary>
    public static void EnableInlineSocketCompletions()
    {
        const string Name = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(Name) is null) Environment.SetEnvironmentVariable(Name, "1");
    }
}
