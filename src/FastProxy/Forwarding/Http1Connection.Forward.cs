using FastProxy.Async;
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Balancing;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Routing;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>Upstream response heads may be larger than client request heads (cookies, CSP); nginx's default buffer is 4–8 KiB.</summary>
    internal static readonly HeadLimits ResponseLimits = new(MaxStartLine: 8 * 1024, MaxHeaderBytes: 64 * 1024, MaxHeaders: 256);
    internal const int MaxResponseHeadBytes = 8 * 1024 + 64 * 1024 + 64;

    private enum ResponseIntake : byte
    {
        Complete = 0,
        /// <summary>More of the head is needed: read again.</summary>
        Pending,
        TimedOut,
        /// <summary>The server closed without sending a byte: on a reused connection, the keep-alive race.</summary>
        ClosedEmpty,
        Malformed,
        /// <summary>The request body failed on the client's side (see <see cref="_pumpFailure"/>): there is nothing to wait for.</summary>
        RequestFailed,
    }

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

    private ReadOnlySequence<byte> _responseBuffer;
    private byte[]? _responseScratch;
    private int _responseScratchLength;
    private ChunkedDecoder _responseDecoder;

    /// <summary>Set once the request head (and buffered body) have been consumed from the client pipe.</summary>
    private bool _requestConsumed;

    /// <summary>When request bytes last went to the server (the head, then each piece of a streamed body).</summary>
    private long _requestProgressMs;

    private ReadOnlyMemory<byte> ResponseHeadMemory => _responseScratch is not null
        ? _responseScratch.AsMemory(0, _responseScratchLength)
        : _responseBuffer.First;

    private ReadOnlySpan<byte> ResponseHeadBytes => _responseScratch is not null
        ? _responseScratch.AsSpan(0, _responseScratchLength)
        : _responseBuffer.FirstSpan;

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

    /// <summary>
    /// The exchange was cut by us (<see cref="Abort"/>: its HTTP/2 stream was reset or its client went away, or the
    /// stop's final cut) and the upstream connection failed because of it: not the server's failure (no outlier
    /// count, no warning), no retry, and nobody to answer.
    /// </summary>
    private Exchange CutByUs(UpstreamConnection connection)
    {
        connection.Dispose();
        return Exchange.Close;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Exchange> ExchangeAsync(UpstreamConnection connection, Route route, ListenerRuntime runtime, bool retryable)
    {
        // least_conn counts requests in flight per server.
        var server = connection.Server;
        var balanced = server.State;
        balanced.RequestStarted();
        server.Health.CountRequest();
        Volatile.Write(ref _exchangeUpstream, connection);
        if (_recording)
        {
            _record!.Upstream = route.Upstream;
            _record.Server = server;
        }
        if (_trace.Sampled) _trace.OnAttempt(server);
        // Aborted before the connection was published (a retry racing the end of a stop): cut it at once.
        if (_aborted) connection.Abort();
        try
        {
            var upstream = route.Upstream!;
            bool reused = connection.Requests > 0;
            bool upgrade = _request.IsUpgrade;

            // 1. The request head, and whatever of the body is already here and validated.
            RequestHeadWriter.Write(connection.Output, _request, RequestHeadBytes, new RequestRewrite
            {
                ClientAddress = ClientAddress,
                Scheme = runtime.Scheme,
                StripPrefix = route.StripPrefix,
                FallbackHost = connection.Server.HostBytes,
                Upgrade = upgrade,
                BufferedLength = _bodyBuffered ? _bufferedBody!.Length : null,
                TrustForwardedFor = _trustedPeer,
                Policies = _chain is null ? null : _policyContext,
                Trace = _trace,
                ContentTypeLine = GrpcWebUpstreamLine,
            });
            if (_bodyBuffered)
            {
                _bufferedBody!.WriteTo(connection.Output);
            }
            else if (_bodyAvailable > 0)
            {
                WriteSequence(connection.Output, _requestBuffer.Slice(_request.HeadLength, _bodyAvailable));
            }
            bool sendFailed;
            try
            {
                sendFailed = (await connection.Output.FlushAsync()).IsCompleted && !connection.RequestDelivered;
            }
            catch (Exception ex) when (IsConnectionError(ex))
            {
                sendFailed = true;
            }
            if (sendFailed)
            {
                if (_aborted) return CutByUs(connection);
                if (reused && retryable) return Exchange.RetryFresh;
                connection.Dispose();
                upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
                if (server.FailureLog.ShouldLog(RepeatedFailure.Response, out var repeats))
                    Log.BadUpstreamResponse(upstream.Name, server.Display, "connection closed while sending the request", repeats);
                if (retryable)
                {
                    _failStatus = 502;
                    return Exchange.Retry;
                }
                return await FailExchangeAsync(502);
            }

            Volatile.Write(ref _requestProgressMs, Transport.Heartbeat.NowMs);
            if (_recording) _record!.UpstreamSentTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
            if (_serverSet!.Balancing is { RecordsResponseTimes: true }) _upstreamSentTicks = System.Diagnostics.Stopwatch.GetTimestamp();

            // 2. A body still arriving is streamed from here, concurrently with waiting for the response.
            ValueTask<BodyCopy> pump = default;
            bool pumping = false;
            _pumpFailure = BodyCopy.Complete;
            if (!_bodyComplete)
            {
                ConsumeRequest();
                _pumpAborted = false;
                pump = PumpRequestBodyAsync(connection, runtime);
                pumping = true;
            }

            // 3. The response head; informational responses are passed on and the final one awaited. The read loop is
            // inline (a suspended helper would cost a box hand-off on every request).
            ResponseIntake intake;
            var input = connection.Input;
            bool relayedInformational = false;
            while (true)
            {
                _response.Reset();
                _upstreamDeadline.Arm(input, Budget(upstream.ResponseTimeoutMs));
                do
                {
                    ReadResult result;
                    try
                    {
                        result = await input.ReadAsync();
                    }
                    catch (Exception ex) when (IsConnectionError(ex))
                    {
                        // Reset by the server: as a close, without whatever part of a head came before it.
                        result = new ReadResult(default, isCanceled: false, isCompleted: true);
                    }
                    intake = OnResponseHeadData(result, input, upstream);
                }
                while (intake == ResponseIntake.Pending);
                _upstreamDeadline.Disarm();
                if (intake != ResponseIntake.Complete || _response.StatusCode >= 200 || _response.StatusCode == 101) break;
                // 1xx (100 Continue, 103 Early Hints): relayed to HTTP/1.1 clients only (RFC 9110 §15.2).
                if (_request.Version == HttpVersion.Http11)
                {
                    ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ConnectionHeader.None, false, false);
                    relayedInformational = true;
                    await _output.FlushAsync();
                }
                connection.Input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
                ReleaseResponseScratch();
            }

            if (intake != ResponseIntake.Complete)
            {
                if (_aborted)
                {
                    if (pumping) await AbortPumpAsync(connection, pump);
                    ReleaseResponseScratch();
                    return CutByUs(connection);
                }
                if (intake == ResponseIntake.ClosedEmpty && reused && retryable && !pumping) return Exchange.RetryFresh;
                if (pumping) await AbortPumpAsync(connection, pump);
                connection.Dispose();
                ReleaseResponseScratch();
                if (intake != ResponseIntake.RequestFailed) upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
                switch (intake)
                {
                    case ResponseIntake.TimedOut:
                        RecordFlag(Observability.RequestFlags.UpstreamTimeout);
                        if (server.FailureLog.ShouldLog(RepeatedFailure.Timeout, out var timeouts))
                            Log.UpstreamTimeout(upstream.Name, server.Display, RequestTimedOut ? "request_timeout" : "response_timeout", timeouts);
                        return await FailExchangeAsync(504);
                    case ResponseIntake.RequestFailed:
                        // A client that went away gets nothing; one that sent garbage or stalled is told so.
                        if (_pumpFailure == BodyCopy.Truncated)
                        {
                            RecordFlag(Observability.RequestFlags.ClientAborted);
                            return Exchange.Close;
                        }
                        return await FailExchangeAsync(_pumpFailure == BodyCopy.TimedOut ? 408
                            : _requestDecoder.Error == ChunkedError.BodyTooLarge ? 413 : 400);
                    case ResponseIntake.Malformed:
                        if (server.FailureLog.ShouldLog(RepeatedFailure.Response, out var malformed))
                            Log.BadUpstreamResponse(upstream.Name, server.Display, _response.Error == HeadError.None ? "response head cut short" : _response.Error.ToString(), malformed);
                        return await FailExchangeAsync(502);
                    default:
                        if (server.FailureLog.ShouldLog(RepeatedFailure.Response, out var closed))
                            Log.BadUpstreamResponse(upstream.Name, server.Display, "connection closed before a response", closed);
                        if (retryable && !pumping && !relayedInformational)
                        {
                            _failStatus = 502;
                            return Exchange.Retry;
                        }
                        return await FailExchangeAsync(502);
                }
            }

            if (_recording)
            {
                _record!.UpstreamHeadTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
                _record.Status = _response.StatusCode;
                _record.BytesOut = _response.HeadLength;
            }
            if (_serverSet!.Balancing is { RecordsResponseTimes: true }) RecordResponseTime(balanced);
            // Outlier detection: a 5xx continues a failure streak, anything else ends it.
            if (_response.StatusCode >= 500) upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
            else OutlierDetector.Succeeded(server);

            if (_response.StatusCode == 101)
            {
                if (!upgrade)
                {
                    // A switch nobody asked for cannot be relayed: the client would not know what it speaks now.
                    connection.Dispose();
                    ReleaseResponseScratch();
                    return await FailExchangeAsync(502);
                }
                RecordFlag(Observability.RequestFlags.Upgraded);
                return await TunnelAsync(connection);
            }

            // 4. The final response. The request is consumed now: a retry is no longer possible.
            if (!_requestConsumed) ConsumeRequest();
            var bodyKind = _response.GetBodyKind(_request.Method);
            // An HTTP/1.0 client cannot read chunked framing: send the data and end it by closing.
            bool dechunk = bodyKind == BodyKind.Chunked && _request.Version == HttpVersion.Http10;
            bool clientKeepAlive = _request.KeepAlive && !_services.Draining && (!pumping || pump.IsCompleted)
                && bodyKind != BodyKind.CloseDelimited && !dechunk;
            // RFC 9112 §6.1: no Transfer-Encoding to an HTTP/1.0 client, even on a response without a body (HEAD, 304).
            bool dropTransferEncoding = _response.IsChunked && _request.Version == HttpVersion.Http10;
            BodyCopy copied;
            PreparePolicyResponse();
            if (_serverSet!.Balancing is { StickyCookie: not null } sticky) SetStickyCookie(sticky, server.State.Index);
            long bodyWanted = _chain is null ? 0 : ResponseBodyWanted(bodyKind);
            bool upstreamBodyLeft = false;
            if (_grpcWebActive && IsGrpcResponse())
            {
                // gRPC-Web (.GrpcWeb): the client's content-type, and the body re-framed with the trailers at its end.
                bool bodiless = bodyKind == BodyKind.None;
                bool http10 = _request.Version == HttpVersion.Http10;
                if (http10 && !bodiless) clientKeepAlive = false;
                ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ClientConnectionHeader(clientKeepAlive), dropTransferEncoding, false,
                    ResponsePolicies, _trace, GrpcWebResponseLines(bodiless, chunked: !http10), ListenerLines);
                input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
                ReleaseResponseScratch();
                try
                {
                    copied = bodiless ? BodyCopy.Complete : await CopyGrpcWebBodyAsync(connection, upstream, bodyKind, chunkedOut: !http10);
                }
                catch (Exception ex) when (IsConnectionError(ex))
                {
                    copied = BodyCopy.Truncated;
                }
                if (copied is BodyCopy.Truncated or BodyCopy.Invalid or BodyCopy.TimedOut && !_aborted)
                    upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
            }
            else if (_errorPages is { OnlyProxyErrors: false } && FindErrorPage(_response.StatusCode) is { } page)
            {
                // error_pages with only_proxy_errors = false: the status and fields go on, the body is the page's (.ErrorPages).
                clientKeepAlive = _request.KeepAlive && !_services.Draining && (!pumping || pump.IsCompleted);
                upstreamBodyLeft = ReplaceUpstreamBody(page, input, bodyKind, ClientConnectionHeader(clientKeepAlive));
                copied = BodyCopy.Complete;
            }
            else if (bodyWanted != 0)
            {
                // A policy rewrites the body (json_body): read whole, then written with a Content-Length.
                copied = await TransformResponseAsync(connection, upstream, bodyKind, bodyWanted, dechunk, dropTransferEncoding, clientKeepAlive);
                if (copied != BodyCopy.Complete && _bodyFailStatus != 0)
                {
                    // Nothing reached the client yet: it gets the proxy's answer.
                    if (pumping) await AbortPumpAsync(connection, pump);
                    connection.Dispose();
                    return await FailExchangeAsync(_bodyFailStatus);
                }
            }
            else if (BeginResponseStages(bodyKind))
            {
                // Streaming response stages (compress, the cache's capture): the body through them as it comes (.Stages).
                clientKeepAlive = StagedFraming(bodyKind, out bool chunkedOut)
                    && _request.KeepAlive && !_services.Draining && (!pumping || pump.IsCompleted);
                try
                {
                    copied = await CopyStagedResponseAsync(connection, upstream, bodyKind, chunkedOut, clientKeepAlive);
                }
                catch (Exception ex) when (IsConnectionError(ex))
                {
                    copied = BodyCopy.Truncated;
                }
                if (copied is BodyCopy.Truncated or BodyCopy.Invalid or BodyCopy.TimedOut && !_aborted)
                    upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
            }
            else if (bodyKind == BodyKind.None
                || (bodyKind == BodyKind.ContentLength && _responseBuffer.Length - _response.HeadLength >= _response.ContentLength))
            {
                // The usual small response: its whole body came with the head. One copy and one advance, no body loop.
                // To an HTTP/2 stream it goes as frames straight away when it can (no HTTP/1.1 bytes in between).
                long bodyLength = bodyKind == BodyKind.None ? 0 : _response.ContentLength;
                var body = _responseBuffer.Slice(_response.HeadLength, bodyLength);
                bool answered = _streamMode && _output is Http2ResponseWriter { CanAnswer: true } stream
                    && await stream.AnswerAsync(_response, ResponseHeadMemory, body, ResponsePolicies, _trace, _listenerLines);
                if (!answered)
                {
                    ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ClientConnectionHeader(clientKeepAlive), dropTransferEncoding, false,
                        ResponsePolicies, _trace, listenerLines: ListenerLines);
                    if (bodyLength > 0) WriteSequence(_output, body);
                }
                input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength + bodyLength));
                ReleaseResponseScratch();
                copied = BodyCopy.Complete;
                if (_recording) _record!.BytesOut += bodyLength;
            }
            else
            {
                ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ClientConnectionHeader(clientKeepAlive), dropTransferEncoding, false,
                    ResponsePolicies, _trace, listenerLines: ListenerLines);
                input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
                ReleaseResponseScratch();
                try
                {
                    copied = await CopyResponseBodyAsync(connection, upstream, bodyKind, dechunk);
                }
                catch (Exception ex) when (IsConnectionError(ex))
                {
                    // Reset mid-body (by the server, or the client went away): the response cannot be finished.
                    copied = BodyCopy.Truncated;
                }
                if (copied is BodyCopy.Truncated or BodyCopy.Invalid or BodyCopy.TimedOut && !_aborted) // (the pattern, then &&)
                    upstream.Outliers.Failed(server, Transport.Heartbeat.NowMs);
            }
            bool upstreamReusable = copied == BodyCopy.Complete && _response.KeepAlive && bodyKind != BodyKind.CloseDelimited && !upstreamBodyLeft;

            if (pumping)
            {
                if (!pump.IsCompleted)
                {
                    upstreamReusable = false;
                    clientKeepAlive = false;
                    await AbortPumpAsync(connection, pump);
                }
                else if (await pump != BodyCopy.Complete)
                {
                    upstreamReusable = false;
                    clientKeepAlive = false;
                }
            }

            if (upstreamReusable)
            {
                connection.Requests++;
                connection.Server.Pool.Return(connection, Transport.Heartbeat.NowMs);
            }
            else
            {
                connection.Dispose();
            }

            if (copied != BodyCopy.Complete)
            {
                RecordFlag(copied == BodyCopy.DestinationClosed ? Observability.RequestFlags.ClientAborted : Observability.RequestFlags.ResponseTruncated);
                // The response started and cannot be finished: cut the client off so that it sees an incomplete message,
                // never a short body that looks whole.
                return Exchange.Close;
            }
            // The end of the response goes to the client only now that the upstream connection is back in the pool: a
            // client that has its answer and asks again at once finds it there, and a slow reader does not hold it.
            var flushed = await _output.FlushAsync();
            if (flushed.IsCompleted)
            {
                RecordFlag(Observability.RequestFlags.ClientAborted);
                return Exchange.Close;
            }
            return clientKeepAlive ? Exchange.KeepAlive : Exchange.Close;
        }
        finally
        {
            _exchangeUpstream = null;
            balanced.RequestEnded();
        }
    }

    /// <summary>What a reset or closed socket throws from a pipe (as opposed to a bug).</summary>
    private static bool IsConnectionError(Exception ex)
        => ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException
            or Pipelines.Sockets.Unofficial.ConnectionResetException or Pipelines.Sockets.Unofficial.ConnectionAbortedException or InvalidOperationException;

    /// <summary>Consumes the request head and the body bytes already forwarded from the client pipe.</summary>
    private void ConsumeRequest()
    {
        // Response-side policies read the request on the way back (a headers policy's {header.NAME}, CORS's Origin):
        // the head must outlive the receive buffer it was parsed in, so it moves to a pooled copy first.
        if (_chain is { HasResponsePolicies: true } && _requestScratch is null)
        {
            KeepHead();
            _policyContext!.MoveHead(RequestHeadMemory);
        }
        // A buffered body left the pipe as it was read (BufferBodyAsync), and the head is in the scratch copy.
        if (!_bodyBuffered) _input.AdvanceTo(_requestBuffer.GetPosition(_request.HeadLength + _bodyAvailable));
        _requestBuffer = default;
        _requestConsumed = true;
    }

    /// <summary>
    /// One read's worth of response head: parses what the upstream has sent so far, without consuming it.
    /// <see cref="ResponseIntake.Pending"/>: read again (the buffer was examined).
    /// </summary>
    private ResponseIntake OnResponseHeadData(in ReadResult result, PipeReader input, Upstream upstream)
    {
        var buffer = result.Buffer;
        _responseBuffer = buffer;
        if (result.IsCanceled && _upstreamDeadline.TimedOut)
        {
            // response_timeout runs from the last request byte sent: a server still receiving the body
            // (a slow upload streamed by the pump) is not late.
            if (RequestTimedOut) return ResponseIntake.TimedOut;
            long quiet = Transport.Heartbeat.NowMs - Volatile.Read(ref _requestProgressMs);
            if (quiet >= upstream.ResponseTimeoutMs) return ResponseIntake.TimedOut;
            _upstreamDeadline.Arm(input, Budget(upstream.ResponseTimeoutMs - quiet));
        }
        if (!buffer.IsEmpty)
        {
            var status = ResponseParser.Parse(GetContiguous(buffer, ref _responseScratch, ref _responseScratchLength, MaxResponseHeadBytes),
                _response, ResponseLimits);
            if (status == ParseStatus.Complete) return ResponseIntake.Complete;
            if (status == ParseStatus.Error) return ResponseIntake.Malformed;
        }
        if (result.IsCompleted)
        {
            return buffer.IsEmpty ? ResponseIntake.ClosedEmpty : ResponseIntake.Malformed;
        }
        if (result.IsCanceled && _pumpFailure != BodyCopy.Complete) return ResponseIntake.RequestFailed;
        input.AdvanceTo(buffer.Start, buffer.End);
        return ResponseIntake.Pending;
    }

    private static void WriteSequence(IBufferWriter<byte> output, in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            output.Write(bytes.FirstSpan);
            return;
        }
        foreach (var segment in bytes) output.Write(segment.Span);
    }
}
