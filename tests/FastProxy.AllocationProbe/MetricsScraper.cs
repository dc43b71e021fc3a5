using System.Net;
using System.Net.Sockets;

namespace FastProxy.AllocationProbe;

/// <summary>
/// Scrapes the admin listener's /metrics a fixed number of times while a load runs, as Prometheus would (one request
/// per connection), from a thread of its own with blocking sockets and one fixed buffer.
/// </summary>
internal static class MetricsScraper
{
    private static readonly byte[] Request = "GET /metrics HTTP/1.1\r\nHost: probe\r\n\r\n"u8.ToArray();
    private static readonly byte[] Buffer = new byte[4 * 1024 * 1024];
    private static int s_completed;

    /// <summary>Scrapes that returned a whole 200 answer with request counts in it.</summary>
    public static int Completed => Volatile.Read(ref s_completed);

    public static long During(IPEndPoint admin, int scrapes, int seconds, Func<long> load)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                int gapMs = seconds * 1000 / (scrapes + 1);
                for (int i = 0; i < scrapes; i++)
                {
                    Thread.Sleep(gapMs);
                    ScrapeOnce(admin);
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        }) { IsBackground = true };
        thread.Start();
        long requests = load();
        thread.Join();
        if (failure is not null) throw new InvalidOperationException("scrape failed", failure);
        return requests;
    }

    private static void ScrapeOnce(IPEndPoint admin)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(admin);
        socket.Send(Request);
        int length = 0;
        int n;
        while ((n = socket.Receive(Buffer.AsSpan(length))) > 0) length += n;
        var answer = Buffer.AsSpan(0, length);
        if (!answer.StartsWith("HTTP/1.1 200"u8) || answer.IndexOf("# TYPE fastproxy_requests_total counter"u8) < 0)
            throw new InvalidOperationException("unexpected /metrics answer: " + System.Text.Encoding.ASCII.GetString(Buffer, 0, Math.Min(length, 300)));
        Interlocked.Increment(ref s_completed);
    }
}
