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

    public PolicyChain(IEnumerable<IPolicy> policies)
    {
        var list = policies.ToList();
        // Stable: the IRunsFirst policies keep their relative order, and so do the rest.
        _policies = [.. list.Where(p => p is IRunsFirst), .. list.Where(p => p is not IRunsFirst)];
        _responsePolicies = [.. _policies.OfType<IResponsePolicy>()];
        // The most specific wins: a route's error_pages over its listener's (the listener's come first in the list).
        ErrorPages = list.OfType<IErrorPages>().LastOrDefault();
    }

    /// <summary>The error_pages policy that shapes this chain's error answers (and the proxy's own); null: none.</summary>
    public IErrorPages? ErrorPages { get; }

    public IReadOnlyList<IPolicy> Policies => _policies;

    public bool HasResponsePolicies => _responsePolicies.Length > 0;

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
}
