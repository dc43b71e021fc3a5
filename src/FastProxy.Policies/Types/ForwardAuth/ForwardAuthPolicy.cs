using System.Net.Http;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.ForwardAuth;

/// <summary>
/// type = "forward_auth": asks an auth service about every request before it goes on (Traefik's forwardAuth, nginx's
/// auth_request, Envoy's ext_authz over HTTP). The proxy sends a GET to the configured URL with the client headers
/// listed in request_headers and the X-Forwarded-* set it computes itself (never the client's own). A 2xx lets the
/// request go on, with copy_headers taken from it onto the upstream request (a client's header of the same name is
/// removed even when the answer lacks it: nobody can forge what the auth service vouches for). A 3xx or 4xx is the
/// client's answer, relayed as the auth service gave it (<see cref="ForwardAuthRelay"/>): a 302 to a login page works,
/// where nginx turns anything but 401 and 403 into a 500. A 5xx, a connect failure, an answer that is malformed or too
/// large, or no answer within timeout: 503, and the request never reaches the upstream (fails closed).
/// </summary>
/// <remarks>
/// Every request costs an outbound call, so this path allocates (the outbound request, the answer, and a relayed
/// answer); the fixed 503 answers are built once. The client's request body is not sent.
/// </remarks>
internal sealed class ForwardAuthPolicy : IPolicy
{
    public const string TypeName = "forward_auth";

    /// <summary>An auth answer's body is a login page or an error document; anything bigger is a misbehaving service.</summary>
    public const int MaxAnswerBytes = 64 * 1024;

    private readonly IOutboundHttp _http;
    private readonly ConsumerDirectory _consumers;
    private readonly Uri _url;
    private readonly TimeSpan _timeout;
    private readonly HeaderName[] _requestHeaders;
    private readonly HeaderName[] _copyHeaders;
    private readonly HeaderName[] _copyResponseHeaders;
    private readonly string? _consumerHeader;
    private readonly PolicyAnswer _unreachable;
    private readonly PolicyAnswer _timedOut;
    private readonly PolicyAnswer _failed;
    private readonly RejectionCounter _denied;
    private readonly RejectionCounter _redirected;

    public ForwardAuthPolicy(string name, ForwardAuthOptions options, PolicyBuildContext context)
    {
        Name = name;
        _http = context.Http;
        _consumers = context.Consumers;
        _url = options.Url;
        _timeout = options.Timeout;
        _requestHeaders = HeaderName.From(options.RequestHeaders);
        _copyHeaders = HeaderName.From(options.CopyHeaders);
        _copyResponseHeaders = HeaderName.From(options.CopyResponseHeaders);
        _consumerHeader = options.ConsumerHeader;
        _unreachable = Unavailable(name, "auth_unreachable");
        _timedOut = Unavailable(name, "auth_timeout");
        _failed = Unavailable(name, "auth_failed");
        _denied = RejectionCounter.For(name, TypeName, "denied");
        _redirected = RejectionCounter.For(name, TypeName, "redirected");
    }

    public string Name { get; }

    public async ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        // Everything is read from the request view before the first await: the call is built whole here.
        var request = ForwardAuthRequest.Build(context, _url, _timeout, _requestHeaders);
        OutboundResponse answer;
        try
        {
            answer = await _http.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            return ex switch
            {
                TimeoutException or OperationCanceledException => _timedOut,
                HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => _unreachable,
                // Malformed, cut short, too large, a TLS failure: the service is there but cannot be believed.
                _ => _failed,
            };
        }

        int status = answer.Status;
        if (status is >= 200 and <= 299)
        {
            Allow(context, answer);
            return null;
        }
        // 5xx: the auth service is failing, which says nothing about the client (and its error page is not for the
        // client to read). 1xx or beyond 599 cannot be relayed.
        if (status is < 300 or > 499) return _failed;
        return ForwardAuthRelay.Answer(answer, status < 400 ? _redirected : _denied);
    }

    /// <summary>The auth service said yes: what it vouches for goes upstream, and a client's own copy never does.</summary>
    private void Allow(PolicyContext context, OutboundResponse answer)
    {
        foreach (var header in _copyHeaders)
        {
            context.RemoveHeaders(header.Bytes);
            foreach (var (name, value) in answer.Headers)
            {
                if (string.Equals(name, header.Text, StringComparison.OrdinalIgnoreCase)) context.AddRequestHeader(header.Bytes, Encoding.Latin1.GetBytes(value));
            }
        }
        foreach (var header in _copyResponseHeaders)
        {
            foreach (var (name, value) in answer.Headers)
            {
                if (string.Equals(name, header.Text, StringComparison.OrdinalIgnoreCase)) context.AddResponseHeader(header.Bytes, Encoding.Latin1.GetBytes(value));
            }
        }
        // A name that is not a declared consumer leaves the request without one: the auth service's yes still stands.
        if (_consumerHeader is not null && answer.Header(_consumerHeader) is { } consumerName && _consumers.ByName(consumerName.AsSpan().Trim()) is { } consumer)
        {
            context.Consumer = consumer;
        }
    }

    private static PolicyAnswer Unavailable(string name, string reason) =>
        new(503, RejectionCounter.For(name, TypeName, reason), body: "503 Service Unavailable\n");
}
