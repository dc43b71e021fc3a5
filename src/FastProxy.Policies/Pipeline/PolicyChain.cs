using System.Buffers;
using System.Runtime.CompilerServices;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// The policies one request goes through, compiled at load for a (listener, route) pair: the listener's first, then
/// the route's, in the order listed (a policy marked <see cref="IRunsFirst"/>, CORS, ahead of them all). A route with
/// no policies has no chain at all, so it pays nothing. A reload builds new chains; requests in flight keep theirs.
/// </summary>
public sealed class PolicyChain
{
    private readonly IPolicy[] _policies;
    private readonly IResponsePolicy[] _responsePolicies;
    private readonly IResponseBodyPolicy[] _responseBodyPolicies;
    private readonly IRequestBodyPolicy[] _bodyPolicies;
    /// <summary>Streaming response stages: the transforming ones first (chain order), then the observing ones.</summary>
    private readonly IResponseStreamPolicy[] _streamPolicies;

    public PolicyChain(IEnumerable<IPolicy> policies)
    {
        var list = policies.ToList();
        // Stable: the IRunsFirst policies keep their relative order, and so do the rest.
        _policies = [.. list.Where(p => p is IRunsFirst), .. list.Where(p => p is not IRunsFirst)];
        _responsePolicies = [.. _policies.OfType<IResponsePolicy>()];
        _responseBodyPolicies = [.. _policies.OfType<IResponseBodyPolicy>()];
        _bodyPolicies = [.. _policies.OfType<IRequestBodyPolicy>()];
        _streamPolicies = [.. _policies.OfType<IResponseStreamPolicy>().Where(p => !p.ObservesOnly), .. _policies.OfType<IResponseStreamPolicy>().Where(p => p.ObservesOnly)];
        foreach (var policy in _bodyPolicies)
        {
            if (MaxBody == 0 || policy.MaxBody < MaxBody) MaxBody = policy.MaxBody;
        }
        // The most specific wins: a route's error_pages over its listener's (the listener's come first in the list).
        ErrorPages = list.OfType<IErrorPages>().LastOrDefault();
    }

    /// <summary>The error_pages policy that shapes this chain's error answers (and the proxy's own); null: none.</summary>
    public IErrorPages? ErrorPages { get; }

    public IReadOnlyList<IPolicy> Policies => _policies;

    /// <summary>Something runs on the way back (so the request head must outlive its receive buffer).</summary>
    public bool HasResponsePolicies => _responsePolicies.Length > 0 || _responseBodyPolicies.Length > 0 || _streamPolicies.Length > 0;

    /// <summary>A policy may see the response body as it streams (<see cref="IResponseStreamPolicy"/>).</summary>
    public bool HasResponseStages => _streamPolicies.Length > 0;

    /// <summary>A policy may rewrite response bodies (<see cref="IResponseBodyPolicy"/>).</summary>
    public bool HasResponseBodyPolicies => _responseBodyPolicies.Length > 0;

    /// <summary>Some policy needs the whole request body before it is forwarded (<see cref="IRequestBodyPolicy"/>).</summary>
    public bool HasBodyPolicies => _bodyPolicies.Length > 0;

    /// <summary>The smallest <see cref="IRequestBodyPolicy.MaxBody"/> of the chain; 0 without body policies.</summary>
    public long MaxBody { get; }

    /// <summary>
    /// Runs the body policies in chain order on the whole body; each sees the body as the previous one left it
    /// (<see cref="PolicyContext.ReplacedBody"/>). The answer of the first that answers (counted), or null.
    /// </summary>
    public PolicyAnswer? RunBody(PolicyContext context, ReadOnlySequence<byte> body)
    {
        foreach (var policy in _bodyPolicies)
        {
            var current = context.BodyReplaced ? new ReadOnlySequence<byte>(context.ReplacedBody) : body;
            if (policy.OnBody(context, current) is { } answer)
            {
                answer.Counter.Increment();
                return answer;
            }
        }
        return null;
    }

    /// <summary>The body passed <see cref="MaxBody"/>: the answer of the policy with the smallest cap (counted), or null for a plain 413.</summary>
    public PolicyAnswer? TooLarge(PolicyContext context)
    {
        foreach (var policy in _bodyPolicies)
        {
            if (policy.MaxBody == MaxBody && policy.OnTooLarge(context) is { } answer)
            {
                answer.Counter.Increment();
                return answer;
            }
        }
        return null;
    }
    /// <summary>A policy of the chain may pick the request's upstream (<see cref="ISelectsUpstream"/>): the route then needs a route per upstream.</summary>
    public bool SelectsUpstream => Array.Exists(_policies, p => p is ISelectsUpstream);

    /// <summary>Runs the request side; the answer of the first policy that answers, or null when the request goes on.</summary>
    public ValueTask<PolicyAnswer?> RunAsync(PolicyContext context)
    {
        var policies = _policies;
        for (int i = 0; i < policies.Length; i++)
        {
            var pending = policies[i].OnRequestAsync(context);
            if (!pending.IsCompletedSuccessfully) return ContinueAsync(pending, i, context);
            if (pending.Result is { } answer)
            {
                answer.Counter.Increment();
                return new ValueTask<PolicyAnswer?>(answer);
            }
        }
        return default;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PolicyAnswer?> ContinueAsync(ValueTask<PolicyAnswer?> pending, int index, PolicyContext context)
    {
        var policies = _policies;
        while (true)
        {
            if (await pending.ConfigureAwait(false) is { } answer)
            {
                answer.Counter.Increment();
                return answer;
            }
            if (++index == policies.Length) return null;
            pending = policies[index].OnRequestAsync(context);
        }
    }

    /// <summary>Runs the response side, in chain order, on the response head the client is about to receive.</summary>
    public void OnResponse(PolicyContext context, ResponseView response)
    {
        foreach (var policy in _responsePolicies) policy.OnResponse(context, response);
    }

    /// <summary>
    /// Asks the body policies whether they want this response's body: the most bytes any of them wants read (0: none
    /// does, -1: one refuses the response). Only the first policy that wants a body gets it (see <see cref="OnResponseBody"/>).
    /// </summary>
    public long WantsResponseBody(PolicyContext context, ResponseView response, long bodyLength)
    {
        foreach (var policy in _responseBodyPolicies)
        {
            long wanted = policy.WantsResponseBody(context, response, bodyLength);
            if (wanted != 0)
            {
                context.ResponseBodyPolicy = policy;
                return wanted;
            }
        }
        return 0;
    }

    /// <summary>Hands the body to the policy that asked for it in <see cref="WantsResponseBody"/>.</summary>
    public ResponseBodyOutcome OnResponseBody(PolicyContext context, ResponseView response, ReadOnlyMemory<byte> body, bool tooLarge, System.Buffers.IBufferWriter<byte> output)
        => context.ResponseBodyPolicy is { } policy ? policy.OnResponseBody(context, response, body, tooLarge, output) : ResponseBodyOutcome.Unchanged;

    /// <summary>
    /// Offers the response to each streaming stage (transforming ones first, then observing ones): true when at least
    /// one took it (see <see cref="PolicyContext.HasActiveStages"/>; the forwarder then calls the context's Stage*
    /// methods and, exactly once, <see cref="PolicyContext.EndStages"/>).
    /// </summary>
    public bool BeginResponseStages(PolicyContext context, ResponseView response, in ResponseBodyInfo info)
    {
        foreach (var policy in _streamPolicies)
        {
            var stage = context.StageFor(policy);
            if (stage.Begin(context, response, info)) context.AddActiveStage(stage, policy.ObservesOnly);
        }
        return context.HasActiveStages;
    }
}
