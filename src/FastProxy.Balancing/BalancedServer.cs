namespace FastProxy.Balancing;

/// <summary>
/// One server as the balancers see it: its weight, whether it may take traffic, and how busy it is.
/// Health checks and outlier detection flip <see cref="IsAvailable"/>; the forwarder maintains the counters.
/// </summary>
/// <remarks>
/// Across server-set changes (reload, DNS or file discovery): build the new generation's server for an address that
/// stays with <c>carriedFrom</c> = the old generation's <see cref="BalancedServer"/> of that address. The two then share
/// their counters (in flight, open connections, peak, p2c's response-time average), so least_conn and p2c see the
/// requests still running in the old generation, and those requests, ending, decrement the count the new balancer
/// reads. <see cref="IsAvailable"/> is not shared (health carries over by its own path).
/// </remarks>
public sealed class BalancedServer
{
    private readonly ServerLoad _load;
    private volatile bool _available = true;

    /// <param name="carriedFrom">
    /// The same address's server in the generation being replaced, whose counters this one shares; null: fresh counters.
    /// </param>
    public BalancedServer(int index, string address, int weight = 1, BalancedServer? carriedFrom = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        Index = index;
        Address = address;
        Weight = weight;
        _load = carriedFrom?._load ?? new ServerLoad();
    }

    /// <summary>Whether this server counts in the same counters as <paramref name="other"/> (one carried from the other).</summary>
    public bool SharesLoadWith(BalancedServer other) => ReferenceEquals(_load, other._load);

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
    public int InFlight => Volatile.Read(ref _load.InFlight);

    /// <summary>Open client connections forwarded to this server (least_conn for L4).</summary>
    public int OpenConnections => Volatile.Read(ref _load.OpenConnections);

    /// <summary>
    /// The most requests in flight at once since the last <see cref="TakePeakInFlight"/>: how many upstream connections
    /// the load needed (the adaptive pool keeps that many idle).
    /// </summary>
    public int PeakInFlight => Volatile.Read(ref _load.PeakInFlight);

    public void RequestStarted()
    {
        int inFlight = Interlocked.Increment(ref _load.InFlight);
        // A new high only while the load grows: in the steady state this is one read of a shared field, no write.
        int peak = Volatile.Read(ref _load.PeakInFlight);
        while (inFlight > peak)
        {
            int seen = Interlocked.CompareExchange(ref _load.PeakInFlight, inFlight, peak);
            if (seen == peak) break;
            peak = seen;
        }
    }

    /// <summary>
    /// The peak since the previous call, and a new window that starts at the requests in flight now (a rise racing
    /// this call may be lost from the new window until the next request start records it).
    /// </summary>
    public int TakePeakInFlight() => Interlocked.Exchange(ref _load.PeakInFlight, InFlight);

    public void RequestEnded() => Interlocked.Decrement(ref _load.InFlight);

    public void ConnectionOpened() => Interlocked.Increment(ref _load.OpenConnections);

    public void ConnectionClosed() => Interlocked.Decrement(ref _load.OpenConnections);

    /// <summary>
    /// Records how long the server took to send a response head (<paramref name="elapsedTicks"/> in Stopwatch ticks,
    /// ending at <paramref name="now"/>) into the average p2c weighs by. Lock-free, allocation-free.
    /// </summary>
    public void RecordResponseTime(long elapsedTicks, long now)
        => _load.ResponseTime.Record(elapsedTicks * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency), now);

    /// <summary>The decaying average of response times in microseconds as of Stopwatch time <paramref name="now"/>; 0: none recorded.</summary>
    public double ResponseTimeMicros(long now) => _load.ResponseTime.Current(now);
}
