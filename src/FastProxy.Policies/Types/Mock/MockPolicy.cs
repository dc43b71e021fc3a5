using System.Runtime.CompilerServices;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Mock;

/// <summary>
/// type = "mock": answers every request that reaches it with a fixed response built once at load (status, headers, body
/// or body_file's bytes), so a route can stand in for a service that does not exist yet. With a delay the answer comes
/// that much later (a timer, no thread held), or not at all when the client goes away first (an HTTP/2 stream reset,
/// a stop): the request then ends without an answer. The connection serves its next request as usual.
/// </summary>
internal sealed class MockPolicy : IPolicy
{
    private readonly PolicyAnswer _answer;
    private readonly TimeSpan _delay;
    private readonly TimeProvider _time;

    public MockPolicy(string name, MockOptions options, TimeProvider time)
    {
        Name = name;
        _delay = options.Delay;
        _time = time;
        var lines = new StringBuilder();
        foreach (var (header, value) in options.Headers) lines.Append(header).Append(": ").Append(value).Append("\r\n");
        if (options.ContentType is { } type) lines.Append("Content-Type: ").Append(type).Append("\r\n");
        _answer = new PolicyAnswer(options.Status, RejectionCounter.For(name, "mock", "mock"), Encoding.UTF8.GetBytes(lines.ToString()), options.Body);
    }

    public string Name { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) =>
        _delay <= TimeSpan.Zero ? new ValueTask<PolicyAnswer?>(_answer) : DelayedAsync(context);

    /// <summary>Throws OperationCanceledException when the request is aborted first (the forwarder ends the exchange quietly).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<PolicyAnswer?> DelayedAsync(PolicyContext context)
    {
        await Task.Delay(_delay, _time, context.RequestAborted).ConfigureAwait(false);
        return _answer;
    }
}
