namespace FastProxy.Policies.Pipeline;

public sealed partial class PolicyContext
{
    /// <summary>The policy that asked for this response's body (<see cref="PolicyChain.WantsResponseBody"/>); null: none.</summary>
    public IResponseBodyPolicy? ResponseBodyPolicy { get; set; }
}
