using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Balancing;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Routing;

namespace FastProxy.Forwarding;

/// <summary>
/// The gateway on the request path: who the client is ([client_ip]), the route's policy chain, a policy's answer, and
/// the lines policies add to the response. A request on a route without policies, on a listener that trusts no
/// proxy, touches none of this beyond two null checks.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>The request view policies see; made the first time a chain runs on this (pooled) instance, then reused.</summary>
    private PolicyContext? _policyContext;
    /// <summary>A policy of the request in progress is waiting (HTTP/1.1 client connections only; a stream's reset comes through Abort).</summary>
    private volatile bool _policyWaiting;

    /// <summary>
    /// Heartbeat, while a policy waits: a client that closed its connection ends the wait (the policy's
    /// <see cref="PolicyContext.RequestAborted"/>), so a mock's delay does not run on for nobody.
    /// </summary>
    private void CheckClientWhilePolicyWaits()
    {
        if (_transport is Transport.LeanSocket socket && socket.PeerGone)
        {
            _policyWaiting = false;
            _policyContext?.AbortRequest();
        }
    }

    /// <summary>The chain that ran for the request in progress (its response side runs on the way back); null: none.</summary>
    private PolicyChain? _chain;
    /// <summary>The connection's peer as a number, parsed from <see cref="_clientAddress"/> when first needed.</summary>
    private IpValue _peer;
    private bool _peerParsed;

    // The client of the request in progress, when [client_ip] resolved one other than the peer.
    private readonly byte[] _resolvedAddress = new byte[MaxAddressLength];
    private int _resolvedAddressLength;
    private IpValue _resolvedClient;
    /// <summary>The peer is a trusted proxy: its X-Forwarded-For is kept and appended to.</summary>
    private bool _trustedPeer;
    /// <summary>What ip_hash uses for this request: the resolved client's hash.</summary>
    private ulong _requestClientHash;

    private IpValue Peer
    {
        get
        {
            if (!_peerParsed)
            {
                IpValue.TryParse(ClientAddress, out _peer);
                _peerParsed = true;
            }
            return _peer;
        }
    }

    /// <summary>The request head's bytes as memory (what the policy view holds).</summary>
    private ReadOnlyMemory<byte> RequestHeadMemory => _requestScratch is not null
        ? _requestScratch.AsMemory(0, _requestScratchLength)
        : _requestBuffer.First;

    /// <summary>Per request, before the route's chain: the client as [client_ip] says, the peer by default.</summary>
    private void ResolveClient(ListenerRuntime runtime)
    {
        _trustedPeer = false;
        _resolvedAddressLength = 0;
        _requestClientHash = _clientHash;
        if (runtime.ClientIp is not { } resolver) return;
        var peer = Peer;
        var client = resolver.Resolve(peer, _request, RequestHeadBytes, out _trustedPeer);
        if (client == peer) return;
        _resolvedClient = client;
        _resolvedAddressLength = client.Format(_resolvedAddress);
        Span<byte> bytes = stackalloc byte[16];
        _requestClientHash = ClientAddressHash.Compute(bytes[..client.WriteBytes(bytes)]);
    }

    /// <summary>Runs a chain; null: the request goes on (with the consumer's headers recorded), else the answer to give.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<PolicyAnswer?> RunPoliciesAsync(PolicyChain chain, Route? route, ListenerRuntime runtime)
    {
        _chain = chain;
        var context = _policyContext ??= new PolicyContext();
        if (_resolvedAddressLength > 0)
        {
            context.Begin(_request, RequestHeadMemory, _resolvedClient, _resolvedAddress.AsSpan(0, _resolvedAddressLength), route?.Name, runtime.Tls is not null);
        }
        else
        {
            context.Begin(_request, RequestHeadMemory, Peer, ClientAddress, route?.Name, runtime.Tls is not null);
        }
        // One id for the request: what {request_id} templates see is what the upstream and the access log get.
        _trace.HandIdTo(context);
        var pending = chain.RunAsync(context);
        PolicyAnswer? answer;
        if (pending.IsCompletedSuccessfully)
        {
            answer = pending.Result;
        }
        else
        {
            // A policy waits (an outbound call, a mock's delay): the heartbeat watches for the client going away meanwhile.
            _policyWaiting = !_streamMode;
            try
            {
                answer = await pending;
            }
            finally
            {
                _policyWaiting = false;
            }
        }
        if (answer is null && context.Consumer is { } consumer)
        {
            // What the upstream may trust: set here only (a client's own x-consumer* never passes, see RequestHeadWriter).
            context.AddRequestHeader("x-consumer"u8, consumer.NameBytes);
            if (consumer.GroupsBytes.Length > 0) context.AddRequestHeader("x-consumer-groups"u8, consumer.GroupsBytes);
        }
        return answer;
    }

    /// <summary>The route as it forwards to the upstream a policy picked (its pool, balancer, health, retries, limits).</summary>
    private Route PickedRoute(Route route)
    {
        route = route.For(_policyContext!.SelectedUpstream);
        if (_recording) _record!.Route = route;
        return route;
    }

    /// <summary>
    /// Runs the response side of the request's chain (once per response). Its edits (fields of the server's to drop,
    /// lines to add) are then in <see cref="ResponsePolicies"/>, which both head writers apply: ResponseHeadWriter, and
    /// the HTTP/2 direct answer (Http2ResponseWriter.AnswerAsync).
    /// </summary>
    private void PreparePolicyResponse()
    {
        if (_chain is { HasResponsePolicies: true } chain) chain.OnResponse(_policyContext!, new ResponseView(_response, ResponseHeadBytes));
    }

    /// <summary>The edits policies made to the response the client receives; null without a chain.</summary>
    private PolicyContext? ResponsePolicies => _chain is null ? null : _policyContext;

    /// <summary>Sends a policy's answer (with the lines the chain added for the response) and consumes the request.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AnswerPolicyAsync(PolicyAnswer answer)
    {
        // Like a respond route: a body read whole is skipped and the connection kept; a streaming one cannot be.
        bool keepAlive = _request.KeepAlive && _bodyComplete && !_services.Draining;
        // (A body read whole for a body policy, or refused past its cap, left the pipe already: no receive buffer.)
        if (!_requestBuffer.IsEmpty) _input.AdvanceTo(_requestBuffer.GetPosition(_request.HeadLength + (_bodyComplete ? _bodyAvailable : 0)));
        _requestBuffer = default;
        if (FindErrorPage(answer.Status) is { } page && !(answer.Relayed && _errorPages!.OnlyProxyErrors)
            && !(page.IsProblem && ErrorPageWriter.IsProblem(answer.HeaderLines)))
        {
            // error_pages: the answer's status and fields (WWW-Authenticate, Retry-After, ...), the page for a body.
            ErrorPageWriter.WritePolicyAnswer(_output, answer, page, _policyContext!.ResponseLines, ClientConnectionHeader(keepAlive),
                _request.Method == HttpMethod.Head, _trace, ListenerLines);
        }
        else
        {
            PolicyAnswerWriter.Write(_output, answer, _policyContext!.ResponseLines, ClientConnectionHeader(keepAlive), _request.Method == HttpMethod.Head, _trace,
                ListenerLines);
        }
        if (_recording)
        {
            RecordPolicyAnswer(answer);
            _record!.BytesOut = _output.UnflushedBytes;
        }
        var flush = await _output.FlushAsync();
        return keepAlive && !flush.IsCompleted;
    }
}
