namespace FastProxy.Balancing;

/// <summary>
/// One server as the balancers see it: its weight, whether it may take traffic, and how busy it is.
/// Health checks and outlier detection flip <see cref="IsAvailable"/>; the forwarder maintains the counters.
/// </summary>
public sealed class BalancedServer
{
    private int _inFlight;
    private int _peakInFlight;
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

    /// <summary>
    /// Position in the upstream's server list. Set again when a server that stays moves in a new server set (DNS or
    /// file discovery); a balancer returns positions in its own array and does not read this.
    /// </summary>
    public int Index { get; set; }

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

    /// <summary>
    /// The most requests in flight at once since the last <see cref="TakePeakInFlight"/>: how many upstream connections
    /// the load needed (the adaptive pool keeps that many idle).
    /// </summary>
    public int PeakInFlight => Volatile.Read(ref _peakInFlight);

    public void RequestStarted()
    {
        int inFlight = Interlocked.Increment(ref _inFlight);
        // A new high only while the load grows: in the steady state this is one read of a shared field, no write.
        int peak = Volatile.Read(ref _peakInFlight);
        while (inFlight > peak)
        {
            int seen = Interlocked.CompareExchange(ref _peakInFlight, inFlight, peak);
            if (seen == peak) break;
            peak = seen;
        }
    }

    /// <summary>
    /// The peak since the previous call, and a new window that starts at the requests in flight now (a rise racing
    /// this call may be lost from the new window until the next request start records it).
    /// </summary>
    public int TakePeakInFlight() => Interlocked.Exchange(ref _peakInFlight, InFlight);

    public void RequestEnded() => Interlocked.Decrement(ref _inFlight);

    public void ConnectionOpened() => Interlocked.Increment(ref _openConnections);

    public void ConnectionClosed() => Interlocked.Decrement(ref _openConnections);
}
