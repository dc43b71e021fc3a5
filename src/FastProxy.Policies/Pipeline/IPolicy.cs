namespace FastProxy.Policies.Pipeline;

/// <summary>
/// One gateway policy, compiled from a [policies.NAME] table. Runs after routing and before a server is picked:
/// it may answer (ending the chain: nothing reaches the upstream), change the request's headers or target, name the
/// consumer, or let the request go on. Implementations are sealed, immutable after construction and shared by every
/// connection, so they keep per-request state in the <see cref="PolicyContext"/> only.
/// </summary>
public interface IPolicy
{
    /// <summary>The [policies.NAME] name.</summary>
    string Name { get; }

    /// <summary>
    /// Null: go on. Complete synchronously when you can (the chain then costs no state machine); an outbound call
    /// (forward_auth, a JWKS fetch) may complete later.
    /// </summary>
    ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context);
}

/// <summary>A policy that also sees the response head on the way back (status and headers), to add or change response headers.</summary>
public interface IResponsePolicy
{
    void OnResponse(PolicyContext context, ResponseView response);
}

/// <summary>A policy that must run before the others whatever the order listed (CORS: a preflight is answered before authentication).</summary>
public interface IRunsFirst
{
}
