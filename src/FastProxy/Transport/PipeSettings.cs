using System.IO.Pipelines;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Transport;

/// <summary>
/// How every socket's pipes are set up. Continuations run inline on the socket engine's thread: a request is
/// parsed, routed and forwarded on the thread that received it, with no thread-pool hop (../shared/PERFORMANCE.md:
/// the hop alone doubles CPU per request). Nothing here may block.
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
    /// Segment sizes decide how many syscalls a body takes: each socket read fills at most one segment, and a
    /// send gathers the segments buffered. With 4 KiB pages a 16 KiB response took 15 syscalls to nginx's 10.
    /// Client receive segments are only rented when data is there (zero-length reads), so their size costs no
    /// memory while idle; upstream receive segments are held by idle pooled connections, hence bounded pools.
    /// </summary>
    public const int ClientReceiveSegment = 16 * 1024;
    public const int SendSegment = 16 * 1024;
    public const int UpstreamReceiveSegment = 32 * 1024;

    private static PipeOptions Create(int segmentSize) => new(
        pool: null, // MemoryPool<byte>.Shared: the pipe rents arrays from ArrayPool<byte>.Shared without a wrapper object per rent.
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: PauseThreshold,
        resumeWriterThreshold: ResumeThreshold,
        minimumSegmentSize: segmentSize,
        useSynchronizationContext: false);

    public static readonly PipeOptions ClientReceive = Create(ClientReceiveSegment);
    public static readonly PipeOptions Send = Create(SendSegment);
    public static readonly PipeOptions UpstreamReceive = Create(UpstreamReceiveSegment);

    /// <summary>
    /// Client connections wait for data with a zero-length read, so an idle keep-alive connection holds no receive
    /// buffer (nginx and HAProxy stay near 1 KB per idle connection the same way).
    /// </summary>
    public const SocketConnectionOptions Client =
        SocketConnectionOptions.ZeroLengthReads | SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites;

    /// <summary>
    /// Upstream connections read straight into a buffer: a zero-length read costs two extra syscalls per response
    /// (Pipelines.Sockets.Unofficial's FIONREAD check and the runtime's 1-byte MSG_PEEK). Idle upstream connections
    /// are few (at most max_idle_per_server per server), so the page each holds while waiting is affordable.
    /// </summary>
    public const SocketConnectionOptions Upstream = SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites;

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
