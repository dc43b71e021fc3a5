namespace FastProxy.Balancing;

/// <summary>
/// What "load" means for least_conn. An HTTP upstream multiplexes many requests over pooled connections, so
/// its load is the requests in flight; a TCP (L4) upstream carries one client per connection, so its load is
/// the connections open.
/// </summary>
public enum LoadMetric
{
    /// <summary><see cref="BalancedServer.InFlight"/>: for HTTP upstreams.</summary>
    InFlightRequests,

    /// <summary><see cref="BalancedServer.OpenConnections"/>: for L4 (tcp) upstreams.</summary>
    OpenConnections,
}
