namespace FastProxy.Balancing;

/// <summary>
/// One server as the balancers see it: its weight, whether it may take traffic, and how busy it is.
/// Health checks and outlier detection flip <see cref="IsAvailable"/>; the forwarder maintains the counters.
/// </summary>
public sealed class BalancedServer
{
    private int _inFlight;
    private int _openConnections;
    private volatile bool _available = true;

    public BalancedServer(int index, string address, int weight = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        Index = index;
        Address = address;
        Weight = weight;
    }

    /// <summary>Position in the upstream's server list.</summary>
    public int Index { get; }

    /// <summary>For logs and admin output.</summary>
    public string Address { get; }

    public int Weight { get; }

    public bool IsAvailable
    {
        get => _available;
        set => _available = value;
    }

    /// <summary>Requests in flight to this server (least_conn for HTTP).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Open client connections forwarded to this server (least_conn for L4).</summary>
    public int OpenConnections => Volatile.Read(ref _openConnections);

    public void RequestStarted() => Interlocked.Increment(ref _inFlight);

    public void RequestEnded() => Interlocked.Decrement(ref _inFlight);

    public void ConnectionOpened() => Interlocked.Increment(ref _openConnections);

    public void ConnectionClosed() => Interlocked.Decrement(ref _openConnections);
}
