// The one-server case, for every algorithm: with a single server there is nothing to balance, so the
// factory answers here instead of running the configured algorithm (no counters, no hashing, no lock).
// The server is still skipped when it is down or already tried, as any algorithm would.

namespace FastProxy.Balancing;

internal sealed class SingleServerBalancer : ILoadBalancer
{
    private readonly BalancedServer _server;

    /// <param name="name">The configured algorithm, reported unchanged so logs and admin output match proxy.toml.</param>
    public SingleServerBalancer(string name, BalancedServer server)
    {
        Name = name;
        _server = server;
    }

    public string Name { get; }

    public int Pick(in PickContext context) => _server.IsAvailable && !context.IsExcluded(0) ? 0 : -1;
}
