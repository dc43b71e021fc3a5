namespace FastProxy.Policies.Pipeline;

/// <summary>A policy that may pick the request's upstream (<see cref="PolicyContext.SelectUpstream"/>): the host prepares the routes it may pick at load.</summary>
public interface ISelectsUpstream
{
}

/// <summary>
/// Which upstream the request goes to, when a policy picks it (version). (The request's end, for a policy that waits:
/// PolicyContext.Abort.cs.)
/// </summary>
public sealed partial class PolicyContext
{
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

    private void ResetUpstream() => SelectedUpstream = -1;
}
