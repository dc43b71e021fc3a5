// The empty case, for every algorithm: an upstream without servers (for instance while every address is
// still being resolved) answers "no server" without running the configured algorithm.

namespace FastProxy.Balancing;

internal sealed class NoServerBalancer : ILoadBalancer
{
    /// <param name="name">The configured algorithm, reported unchanged so logs and admin output match proxy.toml.</param>
    public NoServerBalancer(string name) => Name = name;

    public string Name { get; }

    public int Pick(in PickContext context) => -1;
}
