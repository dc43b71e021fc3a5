using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams.Discovery;

/// <summary>
/// A bounded load through the proxy while the servers change: half the clients over HTTP/1.1 keep-alive, half over
/// HTTP/2 (h2c with prior knowledge), each sending requests one after the other, a millisecond apart, until stopped,
/// until its cap or until two minutes have passed. Every response that is not a 200 (or an exception) is a failure.
/// The pause keeps the load going through the test's waits (a discovery change can take seconds to apply on a busy
/// machine) instead of spending the cap in the first second.
/// </summary>
internal sealed class DiscoveryLoad : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _clients = [];
    private readonly ConcurrentQueue<string> _failures = new();
    private int _completed;

    public DiscoveryLoad(int port, int clients = 4, int maxPerClient = 100_000)
    {
        _stop.CancelAfter(TimeSpan.FromMinutes(2));
        for (int i = 0; i < clients; i++)
        {
            bool h2 = i % 2 == 1;
            _clients.Add(Task.Run(() => RunAsync(port, h2, maxPerClient)));
        }
    }

    public int Completed => Volatile.Read(ref _completed);

    public IReadOnlyList<string> Failures => [.. _failures];

    private async Task RunAsync(int port, bool h2, int max)
    {
        using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            DefaultRequestVersion = h2 ? HttpVersion.Version20 : HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };
        for (int i = 0; i < max && !_stop.IsCancellationRequested; i++)
        {
            try
            {
                using var response = await client.GetAsync($"http://127.0.0.1:{port}/");
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK) _failures.Enqueue($"{(h2 ? "h2" : "h1")}: {(int)response.StatusCode} {body}");
            }
            catch (Exception ex)
            {
                _failures.Enqueue($"{(h2 ? "h2" : "h1")}: {ex.GetType().Name}: {ex.Message}");
            }
            Interlocked.Increment(ref _completed);
            try { await Task.Delay(1, _stop.Token); } catch (OperationCanceledException) { }
        }
    }

    /// <summary>Waits until <paramref name="more"/> more requests have completed (bounded: 20 s).</summary>
    public Task RunForAsync(int more)
    {
        int target = Completed + more;
        return Wait.UntilAsync(() => Completed >= target, $"{more} more requests through the proxy", TimeSpan.FromSeconds(20));
    }

    public async Task<IReadOnlyList<string>> StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_clients).WaitAsync(TimeSpan.FromSeconds(20));
        return Failures;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await Task.WhenAll(_clients).WaitAsync(TimeSpan.FromSeconds(20)); } catch { }
    }
}
