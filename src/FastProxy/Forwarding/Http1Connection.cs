using FastProxy.Async;
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using FastProxy.Balancing;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Http2.Frames;
using FastProxy.Observability.Tracing;
using FastProxy.Observability;
using FastProxy.Observability.Metrics;
using FastProxy.Routing;
using FastProxy.Transport;
using FastProxy.Upstreams;
using Pipelines.Sockets.Unofficial;

namespace FastProxy.Forwarding;

/// <summary>
/// One HTTP/1.1 client connection, from accept to close: read a request head, route it, answer it or forward it
/// to an upstream and stream the response back; repeat while keep-alive allows. Requests on a connection are
/// handled one at a time, so pipelined requests are answered in order.
/// Instances are pooled (the parser state and arrays are reused); nothing here allocates per request.
/// </summary>
/// <remarks>Split by concern: .ProxyProtocol (the header before everything), .Tls, .Request (head and body intake), .Policies (the
/// gateway chain and client address), .Forward (the upstream exchange), .Answers (the proxy's own responses), .Body (streaming),
/// .Tunnel (upgrades).</remarks>
internal sealed partial class Http1Connection : IHeartbeatTarget, IAbortable
{
    /// <summary>IPv6 text is at most 45 characters.</summary>
    private const int MaxAddressLength = 46;

    // The heads of the exchange in progress: taken from HeadPool when a request's first bytes arrive, parked there
    // again before the connection waits for its next request (null meanwhile).
    private RequestHead _request = null!;
    private ResponseHead _response = null!;
    private readonly byte[] _clientAddress = new byte[MaxAddressLength];
    private int _clientAddressLength;
    private ulong _clientHash;
    private ulong[] _excluded = new ulong[1];
    /// <summary>The request's trace context and id (Observability/Tracing), refilled for each request.</summary>
    private readonly RequestTrace _trace = new();

    /// <summary>The client's SocketConnection, or its <see cref="TlsTransport"/> on a TLS listener; the pipes are <see cref="_input"/> and <see cref="_output"/>.</summary>
    private IDisposable? _transport;
    private PipeReader _input = null!;
    private PipeWriter _output = null!;
    private Listener _listener = null!;
    private ProxyServices _services = null!;
    private int _heartbeatSlot = -1;

    // Timeouts: one deadline for reads from the client, one for reads from the upstream (they can be pending together).
    private readonly Deadline _clientDeadline = new();
    private readonly Deadline _upstreamDeadline = new();

    /// <summary>Waiting for the first byte of a request on an open keep-alive connection: may be closed at once when draining.</summary>
    private volatile bool _idle;
    private volatile bool _drainClose;

    public void Start(Socket socket, Listener listener, ProxyServices services)
    {
        _listener = listener;
        _services = services;
        var peer = (socket.RemoteEndPoint as IPEndPoint)?.Address;
        if (peer is { IsIPv4MappedToIPv6: true }) peer = peer.MapToIPv4();
        SetClient(peer);
        _heartbeatSlot = services.Heartbeat.Register(this);
        services.ConnectionOpened();
        var runtime = Runtime;
        _connectionMetrics = runtime.Metrics;
        _connectionTls = runtime.Tls is not null;
        _connectionProtocol = ConnectionProtocol.Http1;
        _connectionMetrics?.ConnectionOpened(ConnectionProtocol.Http1, _connectionTls);
        if (runtime.ProxyProtocol is { } proxyProtocol)
        {
            // proxy_protocol = true: the header comes before anything else, TLS included (.ProxyProtocol).
            _ = RunProxyProtocolAsync(socket, proxyProtocol, peer);
            return;
        }
        if (runtime.Tls is { } tls)
        {
            _ = RunTlsAsync(socket, tls);
            return;
        }
        var transport = new LeanSocket(socket, PipeSettings.SmallBlocks);
        _transport = transport;
        _input = transport;
        _output = transport.Output;
        _ = RunAsync();
    }

    /// <summary>
    /// The client's address (text for X-Forwarded-For, hash for ip_hash), for the life of the connection: the socket's
    /// peer, or what a PROXY protocol header names. IPv4-mapped addresses come unmapped.
    /// </summary>
    private void SetClient(IPAddress? address)
    {
        // [client_ip] starts from this address, parsed when first needed (.Policies): a pooled instance's last peer, or
        // the socket's when a PROXY header replaces it, must not be used.
        _peerParsed = false;
        if (address is null)
        {
            _clientAddressLength = 0;
            _clientHash = 0;
            return;
        }
        address.TryFormat(_clientAddress, out _clientAddressLength);
        _clientHash = ClientAddressHash.Compute(address);
    }

    private ListenerRuntime Runtime => ((Http1Dispatcher)_listener.Dispatcher).Runtime;

    private ReadOnlySpan<byte> ClientAddress => _clientAddress.AsSpan(0, _clientAddressLength);

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder))]
    private async ValueTask RunAsync()
    {
        try
        {
            // h2c with prior knowledge (RFC 9113 §3.3): told from HTTP/1.1 by the connection's first bytes, once per
            // connection and before any request head is parsed, so the HTTP/1.1 path pays nothing per request.
            // Over TLS only when ALPN chose h2, and then the preface is required (§3.4).
            if (!_streamMode && (_alpnH2 || Runtime.Tls is null))
            {
                _clientDeadline.Arm(_input, Runtime.IdleTimeoutMs);
                _idle = true; // a connection that has sent nothing yet closes at once when draining
                PrefaceMatch match;
                while (true)
                {
                    var first = await _input.ReadAsync();
                    if (first.IsCanceled) return;
                    if (!first.Buffer.IsEmpty) _idle = false;
                    match = Http2Preface.Match(first.Buffer);
                    if (match == PrefaceMatch.NeedMore && !first.IsCompleted)
                    {
                        // "P", "PR", ...: a POST/PUT/PATCH or the preface; header_timeout bounds the wait like any head.
                        if (!first.Buffer.IsEmpty) _clientDeadline.Arm(_input, Runtime.HeaderTimeoutMs);
                        _input.AdvanceTo(first.Buffer.Start, first.Buffer.End);
                        continue;
                    }
                    // Nothing consumed or examined: the request loop's first read returns these bytes at once.
                    _input.AdvanceTo(first.Buffer.Start);
                    break;
                }
                _clientDeadline.Disarm();
                if (match == PrefaceMatch.Match)
                {
                    await ServeHttp2Async();
                    return;
                }
                if (match == PrefaceMatch.Invalid || (_alpnH2 && match == PrefaceMatch.Mismatch))
                {
                    // §3.4: "Clients and servers MUST treat an invalid connection preface as a connection error of
                    // type PROTOCOL_ERROR", once the connection is HTTP/2's: chosen by ALPN, or announced by the
                    // preface's request line. The GOAWAY may be omitted, but a client that meant HTTP/2 then learns
                    // why it was closed.
                    await RefuseHttp2Async(Http2ErrorCode.ProtocolError, _alpnH2 ? "no connection preface after ALPN h2" : "invalid connection preface");
                    return;
                }
                if (_alpnH2)
                {
                    // The client closed before a whole preface: nothing to answer.
                    Log.Http2ConnectionError(_listener.Name, "PROTOCOL_ERROR", "no connection preface after ALPN h2");
                    return;
                }
            }

            while (true)
            {
                // The request head. The read loop is here, not in a helper: a connection waiting for its next
                // request is then one suspended method (a box fewer per idle connection, a layer fewer per request).
                var intakeRuntime = Runtime;
                BeginRequest(intakeRuntime);
                bool started = false;
                Intake intake;
                do
                {
                    var result = await _input.ReadAsync();
                    intake = OnRequestHeadData(result, intakeRuntime, ref started);
                }
                while (intake == Intake.Pending);
                Route? early = null;
                if (intake == Intake.NeedsBody)
                {
                    // A route whose chain reads the body itself (a body policy, .BodyPolicies) must see it pass its cap as it
                    // streams: no read-ahead here. The route found is kept for the request (same configuration).
                    early = intakeRuntime.Router.Match(_request, RequestHeadBytes);
                    if ((early is null ? intakeRuntime.ListenerPolicies : early.Policies) is { HasBodyPolicies: true })
                    {
                        _clientDeadline.Disarm();
                        intake = Intake.Ready;
                    }
                    else
                    {
                        intake = await ReadBodyAsync(intakeRuntime);
                    }
                }
                if (intake == Intake.Reject) intake = await RejectAsync(_rejectStatus, _rejectReason, intakeRuntime);
                if (intake != Intake.Ready)
                {
                    // Closed mid-head or mid-body: the client went away (a refusal recorded its status in RejectAsync).
                    if (intake == Intake.Closed) RecordFlag(RequestFlags.ClientAborted);
                    CompleteRecord();
                    if (intake == Intake.Rejected) await LingerAsync();
                    break;
                }

                // The configuration current when the request arrived (a reload may have happened while idle).
                var runtime = Runtime;

                bool keepAlive;
                var head = RequestHeadBytes;
                var route = early is not null && ReferenceEquals(runtime, intakeRuntime) ? early : runtime.Router.Match(_request, head);
                ResolveClient(runtime);
                // Trace context and request id, for every request (forwarded or answered here).
                _trace.Begin(_request, head, runtime.Tracer,
                    _resolvedAddressLength > 0 ? _resolvedAddress.AsSpan(0, _resolvedAddressLength) : ClientAddress);
                _chain = null; // set by RunPoliciesAsync when a chain runs; its response side reads it
                _grpcWebActive = route is { GrpcWeb: true } && DetectGrpcWeb();
                if (_recording) RecordHead(route);
                // Gateway policies: the route's chain (listener's then route's), or the listener's alone when no route matched.
                var chain = route is null ? runtime.ListenerPolicies : route.Policies;
                if (chain is not null) SelectErrorPages(chain.ErrorPages);
                var answer = chain is null ? null : await RunPoliciesAsync(chain, route, runtime);
                if (answer is null && chain is { HasBodyPolicies: true })
                {
                    // A body policy (validate, a JSON transform): the whole body first (.BodyPolicies).
                    intake = await RunBodyPoliciesAsync(chain, runtime);
                    if (intake == Intake.Reject) intake = await RejectAsync(_rejectStatus, _rejectReason, runtime);
                    if (intake != Intake.Ready)
                    {
                        if (intake == Intake.Closed) RecordFlag(RequestFlags.ClientAborted);
                        CompleteRecord();
                        if (intake == Intake.Rejected) await LingerAsync();
                        break;
                    }
                    answer = _bodyAnswer;
                }
                if (answer is not null)
                {
                    keepAlive = await AnswerPolicyAsync(answer);
                }
                else
                {
                    // A policy picked the upstream (version): the same route, forwarding to that one.
                    if (chain is not null && route is not null && _policyContext!.SelectedUpstream >= 0) route = PickedRoute(route);
                    if (route?.Upstream is { RequestBuffering: true } && _request.IsChunked && !_bodyBuffered || GrpcWebTextRequest)
                    {
                        // The whole body before anything goes upstream (and before a slot of max_requests is taken);
                        // a gRPC-Web text body is base64-decoded on the way in (.GrpcWeb).
                        intake = GrpcWebTextRequest ? await BufferGrpcWebTextAsync(runtime) : await BufferBodyAsync(runtime, runtime.MaxBody);
                        if (intake == Intake.Reject) intake = await RejectAsync(_rejectStatus, _rejectReason, runtime);
                        if (intake != Intake.Ready)
                        {
                            if (intake == Intake.Closed) RecordFlag(RequestFlags.ClientAborted);
                            CompleteRecord();
                            if (intake == Intake.Rejected) await LingerAsync();
                            break;
                        }
                    }
                    if (route is null)
                    {
                        RecordFlag(RequestFlags.NoRoute);
                        keepAlive = _errorPages is null ? await RespondAsync(ProxyResponses.For(404), runtime) : await FailUnroutedAsync();
                    }
                    else if (route.Respond is not null)
                    {
                        RecordFlag(RequestFlags.Responded);
                        keepAlive = await RespondAsync(route.Respond, runtime);
                    }
                    else if (route.Static is not null)
                    {
                        RecordFlag(RequestFlags.Responded);
                        keepAlive = await ServeStaticAsync(route.Static);
                    }
                    else if (route.Upstream is null)
                    {
                        // The chain was to answer (mock) or pick the upstream (version), and did neither.
                        _requestConsumed = false;
                        keepAlive = await FailAsync(502);
                    }
                    else if (!route.Upstream.Limits.TryEnter())
                    {
                        // Circuit breaking: max_requests already in flight to this upstream. (BeginForward did not run:
                        // the request is still unconsumed, whatever the previous request on this pooled state left.)
                        _requestConsumed = false;
                        RecordFlag(RequestFlags.CircuitOpen);
                        keepAlive = await FailAsync(503);
                    }
                    else
                    {
                        try
                        {
                            var connection = BeginForward(route, out bool retryable, out int picked);
                            if (connection is null)
                            {
                                keepAlive = await ForwardAsync(route, runtime, retryable, picked);
                            }
                            else
                            {
                                // The steady state: a pooled connection, straight into the exchange.
                                var outcome = await ExchangeAsync(connection, route, runtime, retryable);
                                keepAlive = outcome <= Exchange.Close ? outcome == Exchange.KeepAlive
                                    : await RecoverAsync(outcome, connection, route, runtime, retryable);
                            }
                        }
                        finally
                        {
                            route.Upstream.Limits.Exit();
                        }
                    }
                }
                CompleteRecord();
                ReleaseRequestScratch();
                if (!keepAlive || _services.Draining)
                {
                    if (!_tunnelled) await LingerAsync();
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException
            or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
        {
            // The client or the upstream went away mid-exchange: nothing to answer, nobody to tell.
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_listener.Name, ex);
        }
        finally
        {
            if (_recording)
            {
                // Ended by an exception (a socket gone mid-exchange) or a bug: still counted, as cut short.
                RecordFlag(RequestFlags.ClientAborted);
                CompleteRecord();
            }
            Close();
        }
    }

    private void Close()
    {
        ReleaseRequestScratch();
        ReleaseResponseScratch();
        _services.Heartbeat.Unregister(_heartbeatSlot);
        _heartbeatSlot = -1;
        if (_streamMode)
        {
            // An HTTP/2 stream's pipes: completing them tells the stream's side the exchange is over. The client
            // connection (and its count against max_connections) belongs to the HTTP/2 connection.
            try { _input.Complete(); } catch { /* already completed */ }
            try { _output.Complete(); } catch { /* already completed */ }
            // From here a reset of the stream must not reach this instance: the pool may hand it to another request
            // (StartStream returns it to the pool once the run has ended).
            _stream?.DetachExchange(this);
            return;
        }
        // No transport when a TLS handshake failed: the socket is closed already.
        if (_transport is { } transport)
        {
            try { _input.Complete(); } catch { /* already completed */ }
            try { _output.Complete(); } catch { /* already completed */ }
            transport.Dispose();
        }
        _connectionMetrics?.ConnectionClosed(_connectionProtocol, _connectionTls);
        _connectionMetrics = null;
        _services.ConnectionClosed();
        _services.Limiter.Release();
        _services.ConnectionPool.Return(this);
    }

    /// <summary>Called by the pool: drop every reference to the finished connection so it can be collected.</summary>
    public bool ResetForPool()
    {
        _transport = null;
        _handshakeSocket = null;
        ClientCertificateSubject = null;
        _alpnH2 = false;
        _aborted = false;
        _exchangeUpstream = null;
        _input = null!;
        _output = null!;
        _listener = null!;
        _services = null!;
        _idle = false;
        _drainClose = false;
        _tunnelled = false;
        _streamMode = false;
        _stream = null;
        _streamParts?.Response.Clear();
        _http2 = null;
        _recording = false;
        _record?.Clear();
        _clientDeadline.Disarm();
        _upstreamDeadline.Disarm();
        ParkHeads();
        return true;
    }

    public void OnHeartbeat(long nowMs)
    {
        _clientDeadline.Check(nowMs);
        _upstreamDeadline.Check(nowMs);
        if (_tunnelled) CheckTunnelIdle(nowMs);
        if (_policyWaiting) CheckClientWhilePolicyWaits();
        // A stop, or a reload since the HTTP/2 connection started: it shuts down gracefully (GOAWAY, streams finish).
        if (_http2 is { } http2 && _services is { } services && (services.Draining || http2.Generation != services.Generation)) http2.OnDraining();
        if (_idle && _services is { Draining: true } && !_drainClose)
        {
            _drainClose = true;
            _input?.CancelPendingRead();
        }
    }

    /// <summary>The upstream connection of the exchange in progress, so that <see cref="Abort"/> reaches it.</summary>
    private UpstreamConnection? _exchangeUpstream;

    /// <summary>Set by <see cref="Abort"/>: no retry, no new upstream connection for this request.</summary>
    private volatile bool _aborted;

    /// <summary>
    /// Cuts the connection (the end of a graceful stop's shutdown_timeout): its client socket closes and, for the
    /// exchange in progress, its upstream socket too, so that a request waiting on a slow server ends now rather
    /// than at response_timeout. An HTTP/2 stream's exchange has no client socket of its own: cutting its upstream
    /// is what ends it (the HTTP/2 connection's own Abort closes the client's socket).
    /// </summary>
    public void Abort()
    {
        _aborted = true;
        // A policy waiting (a mock's delay, aggregate's calls) stops waiting: the stream was reset or the connection is being cut.
        _policyContext?.AbortRequest();
        _transport?.Dispose();
        Volatile.Read(ref _handshakeSocket)?.Dispose();
        Volatile.Read(ref _exchangeUpstream)?.Abort();
    }

    private void TakeHeads()
    {
        if (_request is not null) return;
        (_request, _response) = HeadPool.Rent();
    }

    /// <summary>Between requests nothing of the last exchange is needed: an idle connection holds no heads.</summary>
    private void ParkHeads()
    {
        if (_request is null) return;
        _request.Reset();
        _response.Reset();
        HeadPool.Return(_request, _response);
        _request = null!;
        _response = null!;
    }

    /// <summary>Servers already tried for this request, as the balancers' exclusion bitset.</summary>
    private Span<ulong> ResetExclusions(int words)
    {
        if (_excluded.Length < words) _excluded = new ulong[words];
        var span = _excluded.AsSpan(0, words);
        span.Clear();
        return span;
    }

    private static void Exclude(ulong[] bits, int index) => bits[index >> 6] |= 1UL << (index & 63);

    /// <summary>
    /// A read deadline, fired by the heartbeat: it cancels the pending read of one pipe, and the reader sees
    /// <see cref="ReadResult.IsCanceled"/> with <see cref="TimedOut"/> set. Arming is two writes, no allocation.
    /// </summary>
    internal sealed class Deadline
    {
        private long _dueMs = long.MaxValue;
        private PipeReader? _reader;
        private volatile bool _timedOut;

        public bool TimedOut => _timedOut;

        public void Arm(PipeReader reader, long timeoutMs)
        {
            _reader = reader;
            _timedOut = false;
            Volatile.Write(ref _dueMs, timeoutMs <= 0 ? long.MaxValue : Heartbeat.NowMs + timeoutMs);
        }

        /// <summary>
        /// Also lets go of the reader: between requests the upstream deadline would otherwise keep the last upstream
        /// connection's socket reachable from an idle client connection after that connection closed (after a burst,
        /// thousands of closed sockets, ~1 KB each, kept for as long as their clients stayed connected).
        /// </summary>
        public void Disarm()
        {
            Volatile.Write(ref _dueMs, long.MaxValue);
            _reader = null;
            _timedOut = false;
        }

        public void Check(long nowMs)
        {
            long due = Volatile.Read(ref _dueMs);
            if (nowMs < due) return;
            // Only the heartbeat that wins the exchange fires, and only for the deadline it saw.
            if (Interlocked.CompareExchange(ref _dueMs, long.MaxValue, due) != due) return;
            _timedOut = true;
            // Null when disarmed since: the read it was for has ended, and the next one must not see a cancellation.
            Volatile.Read(ref _reader)?.CancelPendingRead();
        }
    }
}
