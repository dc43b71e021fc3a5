using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Observability.AccessLog;

namespace FastProxy.Tests.Observability.AccessLog;

/// <summary>The background writer against real files: batching, stop, reopen after a rename, drops when full.</summary>
public sealed class AccessLogWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastproxy-alw-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static AccessLogEntry Entry(int status) => new()
    {
        Time = DateTime.UtcNow,
        ClientIp = "127.0.0.1"u8,
        Method = "GET"u8,
        Path = "/x"u8,
        Protocol = "HTTP/1.1"u8,
        Status = status,
        UpstreamTicks = -1,
    };

    private static int[] Statuses(string path) =>
        [.. File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetInt32())];

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }

    [Fact]
    public void Lines_reach_the_file_in_order_and_stop_writes_what_is_queued()
    {
        string path = Path.Combine(_dir, "access.log");
        long before = AccessLogCounters.Lines;
        // A long flush interval: only the stop can write these lines.
        var writer = AccessLogWriter.Start(new AccessLogConfig { Path = path, FlushInterval = TimeSpan.FromHours(1) }, QueryRedaction.None);
        for (int i = 0; i < 500; i++) writer.Write(Entry(200 + i % 300));
        writer.Stop(TimeSpan.FromSeconds(10));

        Assert.Equal(Enumerable.Range(0, 500).Select(i => 200 + i % 300), Statuses(path));
        Assert.True(AccessLogCounters.Lines - before >= 500);
    }

    [Fact]
    public void The_flush_interval_bounds_how_long_a_line_waits()
    {
        string path = Path.Combine(_dir, "access.log");
        var writer = AccessLogWriter.Start(new AccessLogConfig { Path = path, FlushInterval = TimeSpan.FromMilliseconds(50) }, QueryRedaction.None);
        try
        {
            writer.Write(Entry(201));
            WaitFor(() => File.Exists(path) && new FileInfo(path).Length > 0, "the line");
            Assert.Equal([201], Statuses(path));
        }
        finally
        {
            writer.Stop(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public void Reopen_after_a_rename_writes_to_a_new_file()
    {
        string path = Path.Combine(_dir, "access.log");
        var writer = AccessLogWriter.Start(new AccessLogConfig { Path = path, FlushInterval = TimeSpan.FromMilliseconds(10) }, QueryRedaction.None);
        try
        {
            writer.Write(Entry(201));
            WaitFor(() => new FileInfo(path).Length > 0, "the first line");
            File.Move(path, path + ".1");
            // Before the reopen the writer still holds the renamed file.
            writer.Write(Entry(202));
            WaitFor(() => Statuses(path + ".1").Length == 2, "the second line in the renamed file");
            writer.Reopen();
            WaitFor(() => File.Exists(path), "the new file");
            writer.Write(Entry(203));
            WaitFor(() => new FileInfo(path).Length > 0, "the third line");
        }
        finally
        {
            writer.Stop(TimeSpan.FromSeconds(10));
        }
        Assert.Equal([201, 202], Statuses(path + ".1"));
        Assert.Equal([203], Statuses(path));
    }

    [Fact]
    public void A_full_queue_drops_and_counts_without_blocking()
    {
        string path = Path.Combine(_dir, "access.log");
        long dropped = AccessLogCounters.Dropped;
        var writer = AccessLogWriter.Start(new AccessLogConfig { Path = path, Queue = 16, FlushInterval = TimeSpan.FromMilliseconds(10) }, QueryRedaction.None);
        int written;
        try
        {
            // 100,000 lines as fast as one thread can: the 16-slot queue overflows long before the writer wakes.
            for (written = 0; written < 100_000; written++) writer.Write(Entry(200));
        }
        finally
        {
            writer.Stop(TimeSpan.FromSeconds(10));
        }
        long lost = AccessLogCounters.Dropped - dropped;
        int lines = File.ReadAllLines(path).Length;
        Assert.True(lost > 0, "nothing dropped");
        // Every line is either in the file or counted as dropped (other tests may drop at the same time: >=).
        Assert.True(lines + lost >= 100_000, $"{lines} written + {lost} dropped < 100000");
        Assert.True(lines >= 16, $"only {lines} lines written");
    }
}
