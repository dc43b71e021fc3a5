using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// One kind of gateway policy, as named by <c>type</c> in [policies.NAME]. A new policy kind is
/// one implementation of this (in Validation/Policies), added to <see cref="PolicyTypes.All"/>,
/// and its running form in FastProxy.Policies.
/// </summary>
internal interface IPolicyType
{
    /// <summary>The value of <c>type</c> that selects this kind.</summary>
    string Name { get; }

    /// <summary>The keys this kind takes besides <c>type</c>; anything else is reported as unknown.</summary>
    IReadOnlyList<string> Keys { get; }

    /// <summary>
    /// Checks the policy's own keys, reporting problems through <paramref name="policy"/>, and returns them typed
    /// (null when they are unusable; the load then fails anyway).
    /// </summary>
    PolicyOptions? Read(TableReader policy);

    /// <summary>
    /// When the chain reaches a policy of this kind it answers (mock, redirect, aggregate): a route whose chain has one
    /// needs neither upstream nor respond. If such a chain ever lets a request go on, the proxy answers 502.
    /// </summary>
    bool AlwaysAnswers => false;
}
