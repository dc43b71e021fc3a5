using FastProxy.Async;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Routing;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

/// <summary>
/// One exchange with an upstream connection: the request head (and what is here of the body) sent, a body still arriving
/// pumped alongside, the response head awaited (1xx relayed), then the response to the client by the way that fits it
/// (gRPC-Web, an error page, a body policy, the streaming stages, the small response in one piece, or the body copy),
/// the upstream connection back to its pool or closed, and the client flushed last.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>Set once the request head (and buffered body) have been consumed from the client pipe.</summary>
    private bool _requestConsumed;

    /// <summary>When request bytes last went to the server (the head, then each piece of a streamed body).</summary>
    private long _requestProgressMs;

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
                    copied = await CopyResponseBodyAsync(connection, upstream, bodyKind, new PlainBody(this, dechunk));
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
}
