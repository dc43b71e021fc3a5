using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;
using FastProxy.Transport;
using Xunit.Abstractions;

namespace FastProxy.Tests.Tcp;

/// <summary>
/// A 1 GiB stream each way through a tcp listener at once, with flat memory: back-pressure through the pipes bounds
/// what the proxy holds whatever the size. Runs alone (it measures the whole process).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class TcpLargeTransferTests(ITestOutputHelper output)
{
    private const long Total = 1L << 30;
    private const int Chunk = 64 * 1024;

    [Fact]
    public async Task A_1_GiB_stream_each_way_goes_through_with_flat_memory()
    {
        // The peers are blocking sockets on threads of their own with one fixed buffer each: they allocate nothing
        // while bytes flow, so what the process allocates meanwhile is the proxy's.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        int backendPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
        await using var proxy = TestProxy.Start(TcpConfigs.Forward([backendPort]));

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Loopback, proxy.Port("tcp")));
        using var server = listener.Accept();

        // Warm-up: the first bytes grow the buffer pools and JIT the paths once.
        RunTransfer(client, server, 64L << 20);
        // The test host reports the results of the tests before this one in the background meanwhile (it serialises
        // them in this process): let it finish, so that what is counted below is the proxy's.
        await Task.Delay(2000);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long rssBefore = Rss();
        // Peak RSS from here: writing 5 to clear_refs resets the kernel's high-water mark (VmHWM) to the current RSS.
        File.WriteAllText("/proc/self/clear_refs", "5");
        int blocksBefore = PipeSettings.LargeBlocks.Created + PipeSettings.SmallBlocks.Created;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        var watch = Stopwatch.StartNew();
        var (up, down) = RunTransfer(client, server, Total, TimeSpan.FromSeconds(60));
        watch.Stop();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long peak = PeakRss();
        // The pinned block pools grow to the peak number of blocks in flight (a one-off, and it varies with timing);
        // what they allocated is not per read.
        long poolGrowth = (PipeSettings.LargeBlocks.Created + PipeSettings.SmallBlocks.Created - blocksBefore) * (long)PipeSettings.LargeBlock;

        output.WriteLine($"2 x 1 GiB in {watch.Elapsed.TotalSeconds:F1} s ({2 * Total / watch.Elapsed.TotalSeconds / (1 << 20):F0} MiB/s through the proxy); " +
            $"RSS {rssBefore >> 20} MiB before, peak {peak >> 20} MiB (+{(peak - rssBefore) >> 20} MiB); " +
            $"{allocated} bytes allocated, of which block pool growth {poolGrowth}");
        Assert.Equal(Total, up);
        Assert.Equal(Total, down);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
        // Buffered instead of streamed, 2 GiB would show here; the pipes hold a few hundred KiB per connection.
        Assert.True(peak - rssBefore < 64L << 20, $"RSS grew by {(peak - rssBefore) >> 20} MiB");
        // 2 GiB is at least 65,536 reads of 32 KiB: one object per read (24 bytes at least) would be over 1.5 MB.
        // What remains (some hundreds of KB) is the runtime's own queues growing now and then: this test process runs
        // socket completions through the thread pool, which the real binary does not (inline completions).
        Assert.True(allocated - poolGrowth < 1L << 20, $"{allocated - poolGrowth} bytes allocated (besides pool growth) while relaying 2 GiB");
    }

    /// <summary>
    /// The client sends <paramref name="bytes"/> to the server and the server as many to the client, at the same
    /// time, each side checking the pattern it receives. Returns the bytes each side received.
    /// </summary>
    private static (long Up, long Down) RunTransfer(Socket client, Socket server, long bytes, TimeSpan? timeout = null)
    {
        long up = 0, down = 0;
        var threads = new[]
        {
            new Thread(() => Send(client, bytes)),
            new Thread(() => Send(server, bytes)),
            new Thread(() => up = Receive(server, bytes)),
            new Thread(() => down = Receive(client, bytes)),
        };
        foreach (var thread in threads) thread.Start();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        foreach (var thread in threads)
        {
            var left = deadline - DateTime.UtcNow;
            if (left < TimeSpan.Zero || !thread.Join(left)) throw new TimeoutException("transfer did not finish in time");
        }
        return (up, down);
    }

    private static void Send(Socket socket, long bytes)
    {
        var buffer = new byte[Chunk];
        for (int i = 0; i < buffer.Length; i++) buffer[i] = (byte)i;
        while (bytes > 0)
        {
            int n = (int)Math.Min(bytes, buffer.Length);
            socket.Send(buffer, 0, n, SocketFlags.None);
            bytes -= n;
        }
    }

    /// <summary>Receives exactly <paramref name="bytes"/>, checking that each byte is its offset mod 256 (as sent: chunks are a multiple of 256).</summary>
    private static long Receive(Socket socket, long bytes)
    {
        var buffer = new byte[Chunk];
        long received = 0;
        while (received < bytes)
        {
            int n = socket.Receive(buffer, 0, (int)Math.Min(buffer.Length, bytes - received), SocketFlags.None);
            if (n == 0) break;
            for (int i = 0; i < n; i += 997)
            {
                if (buffer[i] != (byte)(received + i)) throw new InvalidDataException($"byte {received + i} is {buffer[i]}");
            }
            received += n;
        }
        return received;
    }

    private static long Rss() => StatusKb("VmRSS:") * 1024;

    private static long PeakRss() => StatusKb("VmHWM:") * 1024;

    private static long StatusKb(string field)
    {
        var line = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0]);
    }
}
