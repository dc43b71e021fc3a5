using FastProxy.Async;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Balancing;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Routing;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

/// <summary>
/// Forwarding a request: the server picked, a pooled or new connection to it (max_pending, connect_timeout, request_timeout),
/// and what happens when an exchange fails before the client got anything (a fresh connection, [retry] to another server).
/// The exchange itself is in .Exchange, the response head's reading in .ResponseHead.
/// </summary>
internal sealed partial class Http1Connection
{
    private enum Exchange : byte
    {
        /// <summary>Done; the client connection may carry another request.</summary>
        KeepAlive = 0,
        /// <summary>Done (or failed after the response started); the client connection must close.</summary>
        Close,
        /// <summary>A reused connection turned out to be closed before anything was sent back: try a fresh one.</summary>
        RetryFresh,
        /// <summary>
        /// The server failed (closed or reset) before anything reached the client and the request may be sent again:
        /// another server may be tried ([retry]), else the client gets <see cref="_failStatus"/>.
        /// </summary>
        Retry,
    }

    /// <summary>What the client gets when an <see cref="Exchange.Retry"/> is not retried.</summary>
    private int _failStatus;

    /// <summary>Why <see cref="AcquireAsync"/> found no connection: 502 (nothing could be connected), 503 (max_pending) or 504 (request_timeout).</summary>
    private int _connectStatus;

    /// <summary>When request_timeout passes for the current request (Heartbeat ms); long.MaxValue: no such deadline.</summary>
    private long _requestDeadlineMs = long.MaxValue;

    /// <summary>A wait on the server of at most <paramref name="timeoutMs"/>, shortened to what is left of request_timeout.</summary>
    private long Budget(long timeoutMs)
    {
        long deadline = _requestDeadlineMs;
        if (deadline == long.MaxValue) return timeoutMs;
        return Math.Clamp(deadline - Transport.Heartbeat.NowMs, 1, timeoutMs);
    }

    private bool RequestTimedOut => Transport.Heartbeat.NowMs >= _requestDeadlineMs;

    /// <summary>
    /// Starts forwarding the current request: picks a server and, in the steady state, takes one of its pooled
    /// connections, so that the caller goes straight into <see cref="ExchangeAsync"/> without an async layer in
    /// between. Returns null when a connection has to be made first (<see cref="ForwardAsync"/> takes over, with
    /// <paramref name="picked"/> the server chosen, -1 when none could be).
    /// </summary>
    private UpstreamConnection? BeginForward(Route route, out bool retryable, out int picked)
    {
        var upstream = route.Upstream!;
        _requestConsumed = false;
        // The servers as they are now (one volatile read): this request picks, indexes and retries within them.
        var set = _serverSet = upstream.Set;
        ResetExclusions(set.ExclusionWords);
        // Retried only when nothing can have reached the server's application twice with a different meaning.
        // An upgrade handshake qualifies too: it is a bodiless GET, and nothing is relayed either way before the 101.
        retryable = _bodyComplete && HttpMethods.IsIdempotent(_request.Method);
        _requestDeadlineMs = upstream.RequestTimeoutMs > 0 ? Transport.Heartbeat.NowMs + upstream.RequestTimeoutMs : long.MaxValue;
        if (set.Balancing is { } balancing) PrepareBalancing(balancing);
        picked = Pick();
        return picked < 0 ? null : set.Servers[picked].Pool.TryRent();
    }

    /// <summary>The upstream's servers the current request started with (<see cref="Upstream.Set"/>).</summary>
    private ServerSet? _serverSet;

    /// <summary>
    /// Forwarding when the first server picked had no pooled connection: connect to it, or to the next ones the
    /// balancer picks when connecting fails (502 when none is left; 503 at once when no server could be picked at
    /// all: every one is down or ejected).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardAsync(Route route, ListenerRuntime runtime, bool retryable, int picked)
    {
        var upstream = route.Upstream!;
        if (picked < 0) return await FailAsync(503);
        var connection = await AcquireAsync(upstream, picked);
        if (connection is null) return await FailAsync(_connectStatus);
        var outcome = await ExchangeAsync(connection, route, runtime, retryable);
        return outcome <= Exchange.Close ? outcome == Exchange.KeepAlive : await RecoverAsync(outcome, connection, route, runtime, retryable);
    }

    /// <summary>
    /// An exchange failed before anything reached the client. A reused connection found closed gets one fresh
    /// connection to the same server (the keep-alive race: the server itself may be fine). Otherwise, with
    /// [upstreams.X.retry], the request goes to another server, at most `attempts` times and only while the retries in
    /// flight stay within the upstream's budget; else the client gets the failure's status.
    /// Only requests that are idempotent and were read whole get here (see <see cref="BeginForward"/>).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RecoverAsync(Exchange outcome, UpstreamConnection connection, Route route, ListenerRuntime runtime, bool retryable)
    {
        var upstream = route.Upstream!;
        int attempts = upstream.Limits.RetryAttempts;
        while (true)
        {
            var server = connection.Server;
            if (_aborted)
            {
                // Cut at the end of a stop: the failure is ours, not the server's; nothing is tried again.
                connection.Dispose();
                return false;
            }
            if (outcome == Exchange.RetryFresh)
            {
                connection.Dispose();
                var fresh = await ConnectAsync(upstream, server);
                if (fresh is not null)
                {
                    connection = fresh;
                    outcome = await ExchangeAsync(fresh, route, runtime, retryable);
                    if (outcome <= Exchange.Close) return outcome == Exchange.KeepAlive;
                    continue;
                }
                if (_connectStatus != 502) return await FailAsync(_connectStatus);
                _failStatus = 502;
            }

            // Exchange.Retry: another server, if allowed.
            // Its position in this request's set (a server that stays across a discovery change may have another now).
            int position = Array.IndexOf(_serverSet!.Servers, server);
            if (position >= 0) Exclude(_excluded, position);
            if (attempts-- <= 0) return await FailAsync(_failStatus);
            if (RequestTimedOut) return await FailAsync(504);
            int next = Pick();
            if (next < 0) return await FailAsync(_failStatus);
            if (!upstream.Limits.TryBeginRetry())
            {
                RecordFlag(Observability.RequestFlags.RetryBudgetExhausted);
                return await FailAsync(_failStatus);
            }
            if (_recording)
            {
                _record!.Retries++;
                _record.Flags |= Observability.RequestFlags.Retried;
            }
            try
            {
                var retry = await AcquireAsync(upstream, next);
                if (retry is null) return await FailAsync(_connectStatus);
                connection = retry;
                outcome = await ExchangeAsync(retry, route, runtime, retryable);
            }
            finally
            {
                upstream.Limits.EndRetry();
            }
            if (outcome <= Exchange.Close) return outcome == Exchange.KeepAlive;
        }
    }

    /// <summary>
    /// A connection to server <paramref name="index"/>, pooled or new; when connecting fails, to the next servers the
    /// balancer picks. Null when none is left (<see cref="_connectStatus"/> says why).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<UpstreamConnection?> AcquireAsync(Upstream upstream, int index)
    {
        _connectStatus = 502;
        while (index >= 0)
        {
            var server = _serverSet!.Servers[index];
            var connection = server.Pool.TryRent() ?? await ConnectAsync(upstream, server);
            if (connection is not null) return connection;
            if (_connectStatus != 502) return null;
            Exclude(_excluded, index);
            index = Pick();
        }
        return null;
    }

    private int Pick()
    {
        var set = _serverSet!;
        return set.Balancing is null
            ? set.Balancer.Pick(new PickContext { ClientHash = _requestClientHash, Excluded = _excluded.AsSpan(0, set.ExclusionWords) })
            : PickBalanced(set);
    }

    /// <summary>
    /// A new connection, counted against max_pending while it is being made (beyond it: null and
    /// <see cref="_connectStatus"/> 503). A failure counts against the server for outlier detection.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<UpstreamConnection?> ConnectAsync(Upstream upstream, UpstreamServer server)
    {
        var timeout = upstream.ConnectTimeout;
        if (_requestDeadlineMs != long.MaxValue)
        {
            long left = _requestDeadlineMs - Transport.Heartbeat.NowMs;
            if (left <= 0)
            {
                _connectStatus = 504;
                return null;
            }
            if (left < timeout.TotalMilliseconds) timeout = TimeSpan.FromMilliseconds(left);
        }
        if (!upstream.Limits.TryBeginPending())
        {
            _connectStatus = 503;
            RecordFlag(Observability.RequestFlags.CircuitOpen);
            return null;
        }
        try
        {
            return await UpstreamConnection.ConnectAsync(server, timeout);
        }
        catch (Exception ex) when (ex is SocketException or UpstreamProtocolException or UpstreamTlsException)
        {
            // Refused, timed out; an h2c/h2 server that does not speak HTTP/2 (or not in time); a certificate not
            // trusted or for another host, no common protocol: all as unusable as a refused connect.
            server.LogConnectFailure(upstream.Name, ex);
            upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
            RecordFlag(Observability.RequestFlags.UpstreamConnectFailed);
            return null;
        }
        catch (UpstreamBusyException ex)
        {
            // Every HTTP/2 connection to the server is at its stream limit: busy, not broken.
            server.LogConnectFailure(upstream.Name, ex);
            _connectStatus = 503;
            RecordFlag(Observability.RequestFlags.CircuitOpen);
            return null;
        }
        finally
        {
            upstream.Limits.EndPending();
        }
    }
}
