namespace FastProxy.Balancing;

/// <summary>
/// How busy one server address is: requests in flight, their recent peak, open L4 connections, and (for p2c) a
/// decaying average of response times. Shared by every <see cref="BalancedServer"/> generation of the same address
/// (see <see cref="BalancedServer(int, string, int, BalancedServer?)"/>), so that a request started before a server-set
/// change ends in the same count it started in: copying the numbers instead would leave them off by the requests that
/// end in the old generation after the copy.
/// </summary>
internal sealed class ServerLoad
{
    public int InFlight;
    public int PeakInFlight;
    public int OpenConnections;

    /// <summary>p2c's peak-EWMA of response times (see <see cref="ResponseTimeAverage"/>).</summary>
    public ResponseTimeAverage ResponseTime;
}
