namespace FastProxy.Policies.Pipeline;

/// <summary>A policy that may pick the request's upstream (<see cref="PolicyContext.SelectUpstream"/>): the host prepares the routes it may pick at load.</summary>
public interface ISelectsUpstream
{
}

/// <summary>
/// Which upstream the request goes to, when a policy picks it (version), and the request's end when its client goes
/// away while a policy waits (a mock's delay).
/// </summary>
public sealed partial class PolicyContext
{
    private CancellationTokenSource? _aborted;
    private volatile bool _abortRequested;

    /// <summary>
    /// The upstream a policy picked, as its index in the configuration's [upstreams] (<see cref="PolicyBuildContext.UpstreamNames"/>);
    /// -1: the route's own.
    /// </summary>
    public int SelectedUpstream { get; private set; } = -1;

    /// <summary>
    /// Sends the request to the upstream at <paramref name="index"/> in <see cref="PolicyBuildContext.UpstreamNames"/>
    /// (resolved from its name when the policy was built): its pool, balancer, health, retries, timeouts and limits serve
    /// the request. Only a policy marked <see cref="ISelectsUpstream"/> may call this (the host prepares those routes).
    /// </summary>
    public void SelectUpstream(int index) => SelectedUpstream = index;

    /// <summary>
    /// Cancelled when the request's client goes away or the connection is cut (an HTTP/2 stream reset, the end of a
    /// stop) while a policy waits. Made the first time a policy asks for it on this (pooled) context.
    /// </summary>
    public CancellationToken RequestAborted
    {
        get
        {
            var source = _aborted ??= new CancellationTokenSource();
            if (_abortRequested) source.Cancel();
            return source.Token;
        }
    }

    /// <summary>The host: the request's client is gone (or the connection is being cut); a waiting policy stops waiting.</summary>
    public void AbortRequest()
    {
        _abortRequested = true;
        try { _aborted?.Cancel(); } catch (ObjectDisposedException) { /* replaced since */ }
    }

    private void ResetUpstream()
    {
        SelectedUpstream = -1;
        _abortRequested = false;
        // A cancelled source cannot be used again; one that was not is kept for the next request.
        if (_aborted is { } source && !source.TryReset())
        {
            _aborted = null;
            source.Dispose();
        }
    }
}
