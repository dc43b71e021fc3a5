using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>Why a token was refused; each reason has its own answer and counter.</summary>
internal enum JwtRefusal : byte
{
    /// <summary>No token where the policy looks: 401 with a bare challenge (RFC 6750 §3.1: no error code).</summary>
    Missing,
    TooLarge,
    /// <summary>Not three base64url segments, bad JSON, a repeated name, a "crit" header, a JWE.</summary>
    Malformed,
    /// <summary>"alg" absent, "none", or not in the policy's algorithms.</summary>
    Algorithm,
    /// <summary>No key with the token's kid (after a fetch, when one was allowed), or no key of the token's algorithm.</summary>
    UnknownKey,
    Signature,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    ClaimMissing,
    /// <summary>The keys could not be fetched and the token's may be among them: 503, try again.</summary>
    KeysUnavailable,
}

/// <summary>The answers of one jwt policy, built at load: 401 with WWW-Authenticate as RFC 6750 §3 has it, 503 when keys are unavailable.</summary>
internal sealed class JwtAnswers
{
    private readonly PolicyAnswer[] _answers;
    private readonly PolicyAnswer[] _claimMissing;

    public JwtAnswers(string policy, string realm, IReadOnlyList<string> requiredClaims, TimeSpan retryAfter)
    {
        _answers = new PolicyAnswer[Enum.GetValues<JwtRefusal>().Length];
        foreach (var reason in Enum.GetValues<JwtRefusal>())
        {
            _answers[(int)reason] = reason switch
            {
                JwtRefusal.Missing => Unauthorized(policy, "missing", $"Bearer realm=\"{realm}\"", "a bearer token is required"),
                JwtRefusal.KeysUnavailable => new PolicyAnswer(503, RejectionCounter.For(policy, "jwt", "keys_unavailable"),
                    [new("Retry-After", ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture))],
                    "the keys to verify the token could not be fetched; try again\n"),
                _ => Invalid(policy, realm, Counter(reason), Description(reason)),
            };
        }
        _claimMissing = [.. requiredClaims.Select(claim =>
            Invalid(policy, realm, "claim_missing", $"the token lacks the required claim {Printable(claim)}"))];
    }

    public PolicyAnswer this[JwtRefusal reason] => _answers[(int)reason];

    /// <summary>The answer for the required claim at <paramref name="index"/> of required_claims.</summary>
    public PolicyAnswer ClaimMissing(int index) => _claimMissing[index];

    private static PolicyAnswer Invalid(string policy, string realm, string counter, string description) =>
        Unauthorized(policy, counter, $"Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{description}\"", description + "\n");

    private static PolicyAnswer Unauthorized(string policy, string counter, string challenge, string body) =>
        new(401, RejectionCounter.For(policy, "jwt", counter), [new("WWW-Authenticate", challenge)], body);

    private static string Counter(JwtRefusal reason) => reason switch
    {
        JwtRefusal.TooLarge => "too_large",
        JwtRefusal.Malformed => "malformed",
        JwtRefusal.Algorithm => "algorithm",
        JwtRefusal.UnknownKey => "unknown_key",
        JwtRefusal.Signature => "signature",
        JwtRefusal.Expired => "expired",
        JwtRefusal.NotYetValid => "not_yet_valid",
        JwtRefusal.Issuer => "issuer",
        JwtRefusal.Audience => "audience",
        JwtRefusal.ClaimMissing => "claim_missing",
        _ => reason.ToString().ToLowerInvariant(),
    };

    // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E (no '"' and no '\').
    private static string Description(JwtRefusal reason) => reason switch
    {
        JwtRefusal.TooLarge => "the token is larger than this API accepts",
        JwtRefusal.Malformed => "the token is not a well-formed signed JWT",
        JwtRefusal.Algorithm => "the token's signing algorithm is not accepted",
        JwtRefusal.UnknownKey => "no known key matches the token",
        JwtRefusal.Signature => "the token's signature is invalid",
        JwtRefusal.Expired => "the token has expired",
        JwtRefusal.NotYetValid => "the token is not valid yet",
        JwtRefusal.Issuer => "the token's issuer is not accepted",
        JwtRefusal.Audience => "the token's audience is not accepted",
        _ => "the token is not accepted",
    };

    private static string Printable(string text) =>
        new([.. text.Select(c => c is >= ' ' and <= '~' and not '"' and not '\\' ? c : '?')]);
}
