using System.Net.Sockets;
using FastProxy.Balancing;
using FastProxy.Policies.Pipeline;
using FastProxy.Upstreams;

namespace FastProxy.Outbound.UpstreamCalls;

/// <summary>
/// <see cref="IUpstreamCalls"/> over one configuration generation's upstreams: a call takes a server the way a
/// forwarded request does (the upstream's balancer, skipping servers that are down, ejected or drained; max_requests
/// and max_pending), reuses a pooled keep-alive connection or connects (connect_timeout, failing over to the next
/// server the balancer picks), and runs the exchange (<see cref="UpstreamCallExchange"/>). An h2c/h2 upstream's
/// "connection" is a stream speaking HTTP/1.1 bytes (Http2UpstreamStream), so both protocols take the same code.
/// Not the hot path (aggregate's parts): it allocates a little per call, bounded.
/// </summary>
internal sealed class UpstreamCalls(IReadOnlyDictionary<string, Upstream> upstreams) : IUpstreamCalls
{
    public bool Has(string upstream) => upstreams.ContainsKey(upstream);

    public async ValueTask<UpstreamCallResult> SendAsync(UpstreamCall call, CancellationToken cancellationToken)
    {
        if (!upstreams.TryGetValue(call.Upstream, out var upstream)) return UpstreamCallResult.Failed(UpstreamCallOutcome.UnknownUpstream);
        if (cancellationToken.IsCancellationRequested) return UpstreamCallResult.Failed(UpstreamCallOutcome.Canceled);
        long timeoutMs = Math.Max(1, (long)call.Timeout.TotalMilliseconds);
        if (upstream.RequestTimeoutMs > 0) timeoutMs = Math.Min(timeoutMs, upstream.RequestTimeoutMs);
        long deadline = Transport.Heartbeat.NowMs + timeoutMs;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromMilliseconds(timeoutMs));

        // Circuit breaking counts these requests as any other (max_requests in flight to the upstream).
        if (!upstream.Limits.TryEnter()) return UpstreamCallResult.Failed(UpstreamCallOutcome.Unavailable);
        try
        {
            ulong clientHash = HashOf(call.Client);
            // One set of servers for the whole call, whatever discovery does meanwhile.
            var set = upstream.Set;
            var excluded = new ulong[set.ExclusionWords];
            int index = Pick(set, clientHash, excluded);
            if (index < 0) return UpstreamCallResult.Failed(UpstreamCallOutcome.Unavailable);
            var failure = UpstreamCallOutcome.ConnectFailed;
            while (index >= 0)
            {
                var server = set.Servers[index];
                var connection = server.Pool.TryRent();
                if (connection is null)
                {
                    (connection, failure) = await ConnectAsync(upstream, server, deadline).ConfigureAwait(false);
                    if (connection is null)
                    {
                        if (failure != UpstreamCallOutcome.ConnectFailed) return Classify(failure, limit, cancellationToken);
                        PickContext.Exclude(excluded, index);
                        index = Pick(set, clientHash, excluded);
                        continue;
                    }
                }
                bool reused = connection.Requests > 0;
                var (result, stale) = await UpstreamCallExchange.RunAsync(connection, upstream, call, limit.Token).ConfigureAwait(false);
                if (stale)
                {
                    if (!reused) return Classify(UpstreamCallOutcome.BadResponse, limit, cancellationToken);
                    // The keep-alive race (the server closed the pooled connection as it was taken): once more, fresh.
                    (connection, failure) = await ConnectAsync(upstream, server, deadline).ConfigureAwait(false);
                    if (connection is null) return Classify(failure, limit, cancellationToken);
                    (result, stale) = await UpstreamCallExchange.RunAsync(connection, upstream, call, limit.Token).ConfigureAwait(false);
                    if (stale) return Classify(UpstreamCallOutcome.BadResponse, limit, cancellationToken);
                }
                return result.Outcome == UpstreamCallOutcome.Answered || !limit.IsCancellationRequested ? result : Classify(result.Outcome, limit, cancellationToken);
            }
            return Classify(failure, limit, cancellationToken);
        }
        finally
        {
            upstream.Limits.Exit();
        }
    }

    /// <summary>A failure while the call's time had run out is a timeout; while the caller's token had ended it, a cancellation.</summary>
    private static UpstreamCallResult Classify(UpstreamCallOutcome outcome, CancellationTokenSource limit, CancellationToken caller)
    {
        if (caller.IsCancellationRequested) return UpstreamCallResult.Failed(UpstreamCallOutcome.Canceled);
        if (limit.IsCancellationRequested) return UpstreamCallResult.Failed(UpstreamCallOutcome.TimedOut);
        return UpstreamCallResult.Failed(outcome);
    }

    /// <summary>What ip_hash picks by: the hash of the client's address bytes, as the forwarder computes it.</summary>
    private static ulong HashOf(in Policies.ClientIdentity.IpValue client)
    {
        Span<byte> bytes = stackalloc byte[16];
        return ClientAddressHash.Compute(bytes[..client.WriteBytes(bytes)]);
    }

    private static int Pick(ServerSet set, ulong clientHash, ulong[] excluded)
        => set.Balancer.Pick(new PickContext { ClientHash = clientHash, KeyHash = clientHash, Excluded = excluded });

    /// <summary>
    /// A new connection within connect_timeout and what is left of the call's time, counted against max_pending; a
    /// failure counts against the server (outlier detection) and is logged as the forwarder logs it.
    /// </summary>
    private static async ValueTask<(UpstreamConnection? Connection, UpstreamCallOutcome Failure)> ConnectAsync(Upstream upstream, UpstreamServer server, long deadline)
    {
        long left = deadline - Transport.Heartbeat.NowMs;
        if (left <= 0) return (null, UpstreamCallOutcome.TimedOut);
        var timeout = upstream.ConnectTimeout;
        if (left < timeout.TotalMilliseconds) timeout = TimeSpan.FromMilliseconds(left);
        if (!upstream.Limits.TryBeginPending()) return (null, UpstreamCallOutcome.Unavailable);
        try
        {
            return (await UpstreamConnection.ConnectAsync(server, timeout).ConfigureAwait(false), UpstreamCallOutcome.Answered);
        }
        catch (Exception ex) when (ex is SocketException or UpstreamProtocolException or UpstreamTlsException)
        {
            server.LogConnectFailure(upstream.Name, ex);
            upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
            return (null, UpstreamCallOutcome.ConnectFailed);
        }
        catch (UpstreamBusyException ex)
        {
            server.LogConnectFailure(upstream.Name, ex);
            return (null, UpstreamCallOutcome.Unavailable);
        }
        finally
        {
            upstream.Limits.EndPending();
        }
    }
}
