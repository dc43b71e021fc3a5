using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using FastProxy.Upstreams;

namespace FastProxy.Tests.Upstreams;

/// <summary>
/// Without max_idle_per_server, a server's pool keeps as many idle connections as the load recently had requests in
/// flight to it: a steady load of any concurrency reuses its origin connections instead of opening and closing them
/// (issue 13, defect 5: above 64 in flight, the old fixed default churned continuously).
/// </summary>
public sealed class AdaptivePoolTests
{
    /// <summary>Concurrent keep-alive clients: well above the old default of 64 idle connections per server.</summary>
    private const int Clients = 300;
    private const int Rounds = 3;

    [Fact]
    public async Task A_default_pool_keeps_a_connection_per_request_in_flight_so_a_second_phase_of_the_same_load_opens_none()
    {
        await using var load = new GatedLoad("");
        await load.RunRoundsAsync(Rounds);
        // Each round holds all requests at the origin until every one has arrived: 300 in flight at once, so the
        // first round needs 300 connections, and nothing in the later rounds needs more.
        int firstPhase = load.Origin.Connections;
        Assert.Equal(Clients, firstPhase);

        await load.RunRoundsAsync(Rounds);

        // Every connection of a round is back in the pool before its client has the response (and so before the next
        // round starts), and the number kept only starts to fall after 5 s below the peak (a round takes far less):
        // nothing can make the second phase connect. Before the change: 64 kept, 236 new connections every round.
        Assert.Equal(0, load.Origin.Connections - firstPhase);
        Assert.Equal(0, load.Origin.ClosedByPeer);
    }

    [Fact]
    public async Task An_explicit_max_idle_per_server_still_caps_the_pool()
    {
        await using var load = new GatedLoad("max_idle_per_server = 8");
        await load.RunRoundsAsync(Rounds);
        int firstPhase = load.Origin.Connections;

        await load.RunRoundsAsync(Rounds);

        // Only 8 are kept: each round of 300 at once opens the other 292 again.
        Assert.InRange(load.Origin.Connections - firstPhase, Rounds * (Clients - 8), Rounds * Clients);
    }

    [Fact]
    public async Task When_the_load_falls_the_idle_connections_kept_decay_slowly_to_none()
    {
        await using var load = new GatedLoad("");
        await load.RunRoundsAsync(1);
        var pool = load.Proxy.Host.Runtime.Upstreams["app"].Servers[0].Pool;
        Assert.Equal(Clients, pool.IdleCount);
        Assert.Equal(Clients, pool.IdleLimit);

        // The sweep is the heartbeat's (once a second, on the real clock); here it is called with a clock that runs
        // ahead. Nothing is idle past its timeout (the cutoff is long ago): only the decay closes connections.
        long now = global::FastProxy.Transport.Heartbeat.NowMs;
        pool.Sweep(now, long.MinValue);
        Assert.Equal(Clients, pool.IdleCount); // the load has not stayed low for the hold yet
        long next = now + UpstreamConnectionPool.DecayHoldMs;
        for (int i = 0; i < 5; i++) pool.Sweep(next += 1000, long.MinValue);
        // 1/32 of the excess a sweep: 258 after five (the heartbeat's own sweeps on the real clock cannot decay before
        // 5 s have really passed since the peak, and only then a few more steps).
        Assert.InRange(pool.IdleCount, 200, Clients - 1);
        for (int i = 0; i < 25; i++) pool.Sweep(next += 1000, long.MinValue);
        Assert.InRange(pool.IdleCount, 1, Clients / 2); // 124 after 30 sweeps: halved in about 22 s
        for (int i = 0; i < 120; i++) pool.Sweep(next += 1000, long.MinValue);
        Assert.Equal(0, pool.IdleCount);
        Assert.Equal(0, pool.IdleLimit);
        // The proxy really closed them.
        await Wait.UntilAsync(() => load.Origin.ClosedByPeer == Clients, "the origin sees every pooled connection closed");

        // A new load is pooled again from its first request on (the peak rises at once, without waiting for a sweep).
        await load.RunRoundsAsync(1);
        Assert.Equal(Clients, pool.IdleCount);
    }

    /// <summary>
    /// A proxy with the default config plus <c>extraUpstream</c> in front of an origin that counts its connections, and
    /// <see cref="Clients"/> keep-alive clients that send one request each per round, all held at the origin until the
    /// last has arrived: every round has exactly <see cref="Clients"/> requests in flight at once.
    /// </summary>
    private sealed class GatedLoad : IAsyncDisposable
    {
        private readonly List<WireClient> _clients = [];
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _sent;

        public GatedLoad(string extraUpstream)
        {
            Origin = new ScriptedOrigin(async (r, c) =>
            {
                await Volatile.Read(ref _release).Task.WaitAsync(TimeSpan.FromSeconds(30));
                await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }, backlog: 1024);
            // A generous connect timeout: 300 connects at once on a loaded machine must not turn into 502s.
            Proxy = TestProxy.Start(TestProxy.SimpleConfig([Origin.Port], extraUpstream: "connect_timeout = \"10s\"\n" + extraUpstream));
            for (int i = 0; i < Clients; i++) _clients.Add(new WireClient(Proxy.Port()));
        }

        public ScriptedOrigin Origin { get; }
        public TestProxy Proxy { get; }

        public async Task RunRoundsAsync(int rounds)
        {
            for (int round = 0; round < rounds; round++)
            {
                var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _release, release);
                foreach (var client in _clients) client.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                _sent += Clients;
                await Origin.WaitForRequestsAsync(_sent, TimeSpan.FromSeconds(30));
                release.SetResult();
                var responses = await Task.WhenAll(_clients.Select(c => c.ReadFinalResponseAsync(timeout: TimeSpan.FromSeconds(30))));
                Assert.All(responses, r => Assert.Equal(200, r.Status));
            }
        }

        public async ValueTask DisposeAsync()
        {
            _release.TrySetResult();
            foreach (var client in _clients) client.Dispose();
            await Proxy.DisposeAsync();
            await Origin.DisposeAsync();
        }
    }
}
