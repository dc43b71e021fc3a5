using System.Text;
using FastProxy.Observability.AccessLog;

namespace FastProxy.Tests.Observability.AccessLog;

public sealed class LineQueueTests
{
    private static AccessLogEntry Entry(int status) => new()
    {
        Time = new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc),
        ClientIp = "127.0.0.1"u8,
        Method = "GET"u8,
        Path = "/"u8,
        Protocol = "HTTP/1.1"u8,
        Status = status,
        UpstreamTicks = -1,
    };

    [Fact]
    public void A_full_queue_refuses_and_frees_up_as_the_consumer_reads()
    {
        var queue = new LineQueue(16);
        for (int i = 0; i < 16; i++) Assert.True(queue.TryWrite(Entry(200 + i), AccessLogFormatters.Json, QueryRedaction.None));
        Assert.False(queue.TryWrite(Entry(500), AccessLogFormatters.Json, QueryRedaction.None));

        Assert.True(queue.TryPeek(out var first));
        Assert.Contains("\"status\":200,", Encoding.UTF8.GetString(first));
        queue.Release();
        Assert.True(queue.TryWrite(Entry(299), AccessLogFormatters.Json, QueryRedaction.None));

        var statuses = new List<string>();
        while (queue.TryPeek(out var line))
        {
            statuses.Add(Encoding.UTF8.GetString(line).Split("\"status\":")[1].Split(',')[0]);
            queue.Release();
        }
        Assert.Equal([.. Enumerable.Range(201, 15).Select(s => s.ToString()), "299"], statuses);
        Assert.True(queue.IsEmpty);
    }

    [Fact]
    public void Many_writers_one_reader_lose_nothing_that_was_accepted()
    {
        var queue = new LineQueue(64);
        const int PerWriter = 20_000;
        long accepted = 0, read = 0;
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (int i = 0; i < PerWriter; i++)
            {
                if (queue.TryWrite(Entry(200), AccessLogFormatters.Json, QueryRedaction.None)) Interlocked.Increment(ref accepted);
            }
        })).ToArray();
        var all = Task.WhenAll(writers);
        // Bounded: the writers finish in well under the timeout; then the queue is emptied.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((!all.IsCompleted || !queue.IsEmpty) && DateTime.UtcNow < deadline)
        {
            while (queue.TryPeek(out var line))
            {
                Assert.EndsWith("]}\n", Encoding.UTF8.GetString(line));
                queue.Release();
                read++;
            }
        }
        Assert.True(all.IsCompleted);
        Assert.True(accepted > 0);
        Assert.Equal(accepted, read);
    }
}
