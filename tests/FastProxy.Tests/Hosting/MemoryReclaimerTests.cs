using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Hosting;
using FastProxy.Tests.Infrastructure;
using FastProxy.Transport;

namespace FastProxy.Tests.Hosting;

/// <summary>
/// What a burst of concurrent requests made the pools grow by is given back once the process goes quiet
/// (Hosting/MemoryReclaimer): the proxy kept its peak for ever, 11 KB of RSS per idle connection after 5,000 clients
/// sent at once (bench/compare.sh idle_burst_kb_per_conn). Not parallel: the buffer pools are the process's, and other
/// tests' requests would move their figures.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class MemoryReclaimerTests
{
    private const int Burst = 500;

    /// <summary>A quiet pool holds at most this much unused (a tenth of what the burst left; in practice none).</summary>
    private const int QuietBlocks = Burst / 10;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_blocks_a_burst_of_concurrent_requests_left_in_the_pool_are_let_go_after_a_quiet_period()
    {
        await using var origin = new GatedOrigin(Burst);
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        var clients = new List<Socket>();
        try
        {
            for (int i = 0; i < Burst; i++)
            {
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(client);
                await client.ConnectAsync(proxy.EndPoint()).WaitAsync(Bound);
            }
            // Every client sends before any is answered: the origin holds its answers until all the requests have
            // reached it, so all of them are in flight in the proxy at once, each holding its receive block (kept
            // until the response head arrives, so that a request can be retried on another upstream connection).
            var request = Encoding.ASCII.GetBytes("GET /burst HTTP/1.1\r\nHost: example.test\r\n\r\n");
            foreach (var client in clients) client.Send(request);
            await origin.AllArrived.WaitAsync(Bound);
            int peak = PipeSettings.SmallBlocks.Created;
            Assert.True(peak >= Burst, $"{Burst} requests in flight at once hold {Burst} receive blocks; the pool has {peak}");

            origin.Release();
            await Task.WhenAll(clients.Select(ReadResponseAsync)).WaitAsync(Bound);
            // Answered, every connection idle and open (an idle keep-alive connection holds no block). A forced quiet
            // period: each check closes a period with nothing in flight; the first may still cover the burst's end.
            for (int check = 0; check < 3; check++) MemoryReclaimer.ReclaimIfQuiet();

            long quiet = PipeSettings.SmallBlocks.FreeBytes;
            Assert.True(quiet <= QuietBlocks * PipeSettings.SmallBlock,
                $"after a burst of {Burst} and a quiet period the pool still holds {quiet / 1024} KiB unused (at most {QuietBlocks * PipeSettings.SmallBlock / 1024} KiB expected)");
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    [Fact]
    public void A_full_collection_is_forced_only_when_what_it_frees_is_worth_its_pause()
    {
        const long MiB = 1 << 20;
        // The 5,000-client burst: ~20 MiB of blocks let go on a ~40 MiB heap.
        Assert.True(MemoryReclaimer.ShouldCollect(20 * MiB, 1 * MiB, 40 * MiB));
        // A few MiB on a heap of hundreds (100,000 idle connections): not worth a pause; the GC gets to it later.
        Assert.False(MemoryReclaimer.ShouldCollect(4 * MiB, 2 * MiB, 400 * MiB));
        // The heap's own free space counts towards the worth (holes left by blocks freed at an earlier collection).
        Assert.True(MemoryReclaimer.ShouldCollect(2 * MiB, 14 * MiB, 40 * MiB));
        // Nothing let go, nothing to collect for, whatever the heap looks like.
        Assert.False(MemoryReclaimer.ShouldCollect(0, 30 * MiB, 40 * MiB));
    }

    private static async Task ReadResponseAsync(Socket client)
    {
        var buffer = new byte[1024];
        int have = 0;
        while (!Encoding.ASCII.GetString(buffer, 0, have).EndsWith("\r\n\r\nok", StringComparison.Ordinal))
        {
            int n = await client.ReceiveAsync(buffer.AsMemory(have));
            if (n == 0) throw new IOException($"the proxy closed a connection; received: {Encoding.ASCII.GetString(buffer, 0, have)}");
            have += n;
        }
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(buffer, 0, have));
    }

    /// <summary>
    /// An origin that answers nothing until <c>expected</c> requests have reached it, then everything: the proxy has the
    /// whole burst in flight at once, whatever the machine's load.
    /// </summary>
    private sealed class GatedOrigin : IAsyncDisposable
    {
        private static readonly byte[] Response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

        private readonly Socket _listener;
        private readonly int _expected;
        private readonly TaskCompletionSource _allArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<Socket> _open = [];
        private readonly Task _accepting;
        private int _arrived;

        public GatedOrigin(int expected)
        {
            _expected = expected;
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(expected * 2);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _accepting = AcceptAsync();
        }

        public int Port { get; }

        public Task AllArrived => _allArrived.Task;

        public void Release() => _release.TrySetResult();

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptAsync(_stop.Token);
                }
                catch
                {
                    return;
                }
                _open.Add(socket);
                _ = ServeAsync(socket);
            }
        }

        private async Task ServeAsync(Socket socket)
        {
            var buffer = new byte[8192];
            int have = 0;
            try
            {
                while (true)
                {
                    int end;
                    while ((end = buffer.AsSpan(0, have).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        int n = await socket.ReceiveAsync(buffer.AsMemory(have), _stop.Token);
                        if (n == 0) return;
                        have += n;
                    }
                    // A bodiless GET: the head is the whole request.
                    have -= end + 4;
                    buffer.AsSpan(end + 4, have).CopyTo(buffer);
                    if (Interlocked.Increment(ref _arrived) == _expected) _allArrived.TrySetResult();
                    await _release.Task.WaitAsync(_stop.Token);
                    await socket.SendAsync(Response, _stop.Token);
                }
            }
            catch
            {
                // Test server: the proxy closing its connections, or the test stopping, ends it.
            }
            finally
            {
                socket.Dispose();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Dispose();
            foreach (var socket in _open) socket.Dispose();
            try { await _accepting.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
        }
    }
}
