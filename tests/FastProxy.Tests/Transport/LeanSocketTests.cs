using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using FastProxy.Transport;

namespace FastProxy.Tests.Transport;

/// <summary>
/// The client connections' transport over real loopback sockets: the pipe semantics the HTTP layer relies on
/// (cancellation, end of stream, half-close, a peer that is gone) and its slow paths (a send the socket will not take
/// at once, a read that spans blocks). End-to-end behaviour is covered by the Forwarding, Http2 and Hosting tests.
/// </summary>
public sealed class LeanSocketTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private static async Task<(LeanSocket Lean, Socket Peer)> ConnectAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint!);
        var accepted = await listener.AcceptAsync();
        return (new LeanSocket(accepted, new BlockMemoryPool(4096)), peer);
    }

    private static async Task<ReadResult> ReadAsync(PipeReader reader) => await reader.ReadAsync().AsTask().WaitAsync(Bound);

    [Fact]
    public async Task A_read_waits_for_data_and_returns_it_then_end_of_stream()
    {
        var (lean, peer) = await ConnectAsync();
        using (lean)
        using (peer)
        {
            var pending = lean.ReadAsync();
            Assert.False(pending.IsCompleted); // nothing sent yet: waiting, with no block held
            peer.Send("GET / HTTP/1.1\r\n\r\n"u8);
            var result = await pending.AsTask().WaitAsync(Bound);
            Assert.Equal("GET / HTTP/1.1\r\n\r\n", Encoding.ASCII.GetString(result.Buffer.ToArray()));
            lean.AdvanceTo(result.Buffer.End);

            peer.Shutdown(SocketShutdown.Send);
            result = await ReadAsync(lean);
            Assert.True(result.IsCompleted);
            Assert.True(result.Buffer.IsEmpty);
        }
    }

    [Fact]
    public async Task Watching_while_idle_stays_quiet_then_the_next_read_gets_the_response_from_the_same_receive()
    {
        // A pooled upstream connection: watched while idle, reused, and its response read.
        var (lean, peer) = await ConnectAsync();
        using (lean)
        using (peer)
        {
            lean.WatchWhileIdle();
            await Task.Delay(50);
            // Quiet from the receive in flight, not from a poll of the socket (the fallback when it has ended).
            Assert.True(lean.Watching);
            Assert.True(lean.IsQuiet);
            var pending = lean.ReadAsync();
            Assert.False(pending.IsCompleted); // waits on the receive left in flight
            peer.Send("HTTP/1.1 200 OK\r\n\r\n"u8);
            var result = await pending.AsTask().WaitAsync(Bound);
            Assert.Equal("HTTP/1.1 200 OK\r\n\r\n", Encoding.ASCII.GetString(result.Buffer.ToArray()));
            lean.AdvanceTo(result.Buffer.End);

            // And again for the next request on it.
            lean.WatchWhileIdle();
            Assert.True(lean.Watching);
            Assert.True(lean.IsQuiet);
            peer.Send("HTTP/1.1 204 No Content\r\n\r\n"u8);
            result = await ReadAsync(lean);
            Assert.Equal("HTTP/1.1 204 No Content\r\n\r\n", Encoding.ASCII.GetString(result.Buffer.ToArray()));
            lean.AdvanceTo(result.Buffer.End);
        }
    }

    [Theory]
    [InlineData("fin")]
    [InlineData("bytes")]
    [InlineData("reset")]
    public async Task What_arrives_while_watched_idle_makes_the_connection_not_quiet(string what)
    {
        var (lean, peer) = await ConnectAsync();
        using (lean)
        using (peer)
        {
            lean.WatchWhileIdle();
            Assert.True(lean.Watching);
            Assert.True(lean.IsQuiet);
            switch (what)
            {
                case "fin": peer.Shutdown(SocketShutdown.Send); break;
                case "bytes": peer.Send("x"u8); break;
                default: peer.LingerState = new LingerOption(true, 0); peer.Close(); break;
            }
            // The watch ends by itself when something arrives, and the socket then reads as not quiet.
            var deadline = DateTime.UtcNow + Bound;
            while (lean.Watching && DateTime.UtcNow < deadline) await Task.Delay(5);
            Assert.False(lean.Watching);
            Assert.False(lean.IsQuiet);
            // A read then sees it for itself: the byte, the end, or the reset.
            if (what == "reset")
            {
                await Assert.ThrowsAnyAsync<SocketException>(async () => await ReadAsync(lean));
                return;
            }
            var result = await ReadAsync(lean);
            if (what == "fin") Assert.True(result.IsCompleted);
            else Assert.Equal("x", Encoding.ASCII.GetString(result.Buffer.ToArray()));
        }
    }

    [Fact]
    public async Task Examined_bytes_are_kept_and_more_are_appended_across_blocks()
    {
        var (lean, peer) = await ConnectAsync();
        using (lean)
        using (peer)
        {
            var first = new byte[3500];
            Array.Fill(first, (byte)'a');
            peer.Send(first);
            var result = await ReadAsync(lean);
            while (result.Buffer.Length < first.Length)
            {
                lean.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                result = await ReadAsync(lean);
            }
            // Nothing consumed, everything examined: the next read must bring new bytes, after the old ones.
            lean.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            var second = new byte[6000];
            Array.Fill(second, (byte)'b');
            peer.Send(second);
            long total = first.Length + second.Length;
            result = await ReadAsync(lean);
            while (result.Buffer.Length < total)
            {
                lean.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                result = await ReadAsync(lean);
            }
            var bytes = result.Buffer.ToArray();
            Assert.Equal(total, bytes.Length);
            Assert.True(bytes.AsSpan(0, first.Length).IndexOfAnyExcept((byte)'a') < 0);
            Assert.True(bytes.AsSpan(first.Length).IndexOfAnyExcept((byte)'b') < 0);
            Assert.False(result.Buffer.IsSingleSegment);
            // Consuming part of it keeps the rest.
            lean.AdvanceTo(result.Buffer.GetPosition(5000));
            Assert.True(lean.TryRead(out var rest));
            Assert.Equal(total - 5000, rest.Buffer.Length);
            lean.AdvanceTo(rest.Buffer.End);
        }
    }

    [Fact]
    public async Task Cancelling_a_waiting_read_releases_it_and_the_next_read_still_gets_the_data()
    {
        var (lean, peer) = await ConnectAsync();
        using (lean)
        using (peer)
        {
            var pending = lean.ReadAsync();
            lean.CancelPendingRead();
            var cancelled = await pending.AsTask().WaitAsync(Bound);
            Assert.True(cancelled.IsCanceled);
            lean.AdvanceTo(cancelled.Buffer.Start);

            // A cancellation with no read waiting is kept for the next read.
            lean.CancelPendingRead();
            var next = await ReadAsync(lean);
            Assert.True(next.IsCanceled);
            lean.AdvanceTo(next.Buffer.Start);

            var waiting = lean.ReadAsync();
            peer.Send("hello"u8);
            var result = await waiting.AsTask().WaitAsync(Bound);
            Assert.False(result.IsCanceled);
            Assert.Equal("hello", Encoding.ASCII.GetString(result.Buffer.ToArray()));
            lean.AdvanceTo(result.Buffer.End);
        }
    }

    [Fact]
    public async Task A_large_write_to_a_peer_that_reads_late_arrives_whole_and_completing_sends_a_fin()
    {
        var (lean, peer) = await ConnectAsync();
        using (lean)
        using (peer)
        {
            // Far more than the socket buffers hold (the flush has to wait for the peer to read), in more blocks
            // than one gathered send may carry.
            const int Size = 32 * 1024 * 1024;
            var output = lean.Output;
            for (int written = 0; written < Size;)
            {
                var span = output.GetSpan(1);
                int n = Math.Min(span.Length, Size - written);
                for (int i = 0; i < n; i++) span[i] = (byte)((written + i) % 251);
                output.Advance(n);
                written += n;
            }
            var flush = output.FlushAsync().AsTask();

            var received = new byte[Size + 1];
            int total = 0;
            var reading = Task.Run(async () =>
            {
                while (true)
                {
                    int n = await peer.ReceiveAsync(received.AsMemory(total));
                    if (n == 0) return;
                    total += n;
                }
            });
            var result = await flush.WaitAsync(Bound);
            Assert.False(result.IsCompleted);
            await output.CompleteAsync().AsTask().WaitAsync(Bound);
            await reading.WaitAsync(Bound); // ended by our FIN
            Assert.Equal(Size, total);
            for (int i = 0; i < Size; i += 4099) Assert.Equal((byte)(i % 251), received[i]);
        }
    }

    [Fact]
    public async Task A_flush_to_a_peer_that_reset_reports_completion_and_a_read_throws()
    {
        var (lean, peer) = await ConnectAsync();
        using (lean)
        {
            peer.LingerState = new LingerOption(true, 0); // close with a reset
            peer.Dispose();
            var deadline = DateTime.UtcNow + Bound;
            FlushResult result = default;
            // The first send after a reset may still be accepted by the kernel; a later one fails.
            while (!result.IsCompleted && DateTime.UtcNow < deadline)
            {
                lean.Output.Write("data"u8);
                result = await lean.Output.FlushAsync().AsTask().WaitAsync(Bound);
                if (!result.IsCompleted) await Task.Delay(20);
            }
            Assert.True(result.IsCompleted);
            // The reset is reported once (to the send that met it, or to this read); after it the stream has ended.
            try
            {
                Assert.True((await ReadAsync(lean)).IsCompleted);
            }
            catch (SocketException)
            {
            }
        }
    }

    /// <summary>
    /// A closed connection's objects go with the first full collection. Its receive's SocketAsyncEventArgs was never
    /// disposed: left to its finalizer, it kept the connection's whole graph (this object, the socket, its context)
    /// alive through that collection, so after a burst the thousands of upstream connections closed beyond the pool's
    /// limit survived the collection meant to give their memory back (2 KB of RSS per idle client connection).
    /// </summary>
    [Fact]
    public async Task A_disposed_connection_is_freed_by_one_full_collection()
    {
        var (reachable, alive) = await UseAndDisposeAsync();
        // The socket engine may still hold the connection for a moment after the close (an event being handled):
        // collect until nothing reaches it. The collection that finds it unreachable must free it; with something
        // finalizable left in its graph, that collection only queues the finalizer and the connection lives on.
        for (int attempt = 0; attempt < 200 && reachable.IsAlive; attempt++)
        {
            GC.Collect();
            if (reachable.IsAlive) await Task.Delay(10);
        }
        Assert.False(reachable.IsAlive, "the disposed connection is still referenced after 200 collections");
        Assert.False(alive.IsAlive, "the disposed connection outlived the collection that found it unreachable: a finalizer keeps it");
    }

    /// <summary>
    /// Reads once and disposes; returns weak references that see the connection while something reaches it, and until
    /// it is really freed (trackResurrection: an object kept only by a pending finalizer still counts).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<(WeakReference Reachable, WeakReference Alive)> UseAndDisposeAsync()
    {
        var (lean, peer) = await ConnectAsync();
        using (peer)
        {
            peer.Send("x"u8);
            var result = await ReadAsync(lean);
            lean.AdvanceTo(result.Buffer.End);
            lean.Dispose();
            return (new WeakReference(lean), new WeakReference(lean, trackResurrection: true));
        }
    }
}
