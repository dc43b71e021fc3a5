using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>
/// type = "jwt": a bearer token (a JWS in compact form, RFC 7515/7519) must be present, signed by a configured key with
/// an allowed algorithm, current (exp/nbf with clock_skew), from an accepted issuer and for an accepted audience.
/// A verified token is remembered by its signature (<see cref="TokenCache"/>), so the same token again costs a lookup
/// and a byte comparison, and allocates nothing. On success the request gets the claims (<see cref="PolicyContext.Claims"/>),
/// the consumer its consumer_claim names, the claims_to_headers fields (any such field the client sent is removed),
/// and loses the token unless forward_token. This file is the per-request path; JwtPolicy.Verify.cs the first sight
/// of a token.
/// </summary>
internal sealed partial class JwtPolicy : IPolicy
{
    private readonly Source[] _sources;
    private readonly int _maxTokenSize;
    private readonly long _skewSeconds;
    private readonly byte[][] _headerNames;
    private readonly bool _forwardToken;
    private readonly TokenCache? _cache;
    private readonly JwksSource? _jwks;
    private readonly JwtAnswers _answers;
    private readonly TimeProvider _time;

    public JwtPolicy(string name, JwtOptions options, PolicyBuildContext context)
    {
        Name = name;
        _time = context.Time;
        _sources = [.. options.From.Select(s => new Source(s.Kind, Encoding.ASCII.GetBytes(s.Name),
            s.Kind == JwtTokenSourceKind.Header && s.Name == "authorization"))];
        _maxTokenSize = options.MaxTokenSize;
        _skewSeconds = (long)options.ClockSkew.TotalSeconds;
        _headerNames = [.. options.ClaimsToHeaders.Select(m => Encoding.ASCII.GetBytes(m.Value))];
        _claimNames = [.. options.ClaimsToHeaders.Select(m => Encoding.UTF8.GetBytes(m.Key))];
        _forwardToken = options.ForwardToken;
        _cache = options.CacheSize > 0 ? new TokenCache(options.CacheSize) : null;
        _answers = new JwtAnswers(name, options.Realm ?? name, options.RequiredClaims, options.JwksMinInterval);
        foreach (var algorithm in options.Algorithms) _allowed |= 1 << (int)algorithm;
        _issuers = [.. options.Issuers.Select(Encoding.UTF8.GetBytes)];
        _audiences = [.. options.Audiences.Select(Encoding.UTF8.GetBytes)];
        _required = [.. options.RequiredClaims.Select(Encoding.UTF8.GetBytes)];
        _consumerClaim = Encoding.UTF8.GetBytes(options.ConsumerClaim);
        _consumers = context.Consumers;
        var problems = new List<string>();
        _static = JwtKeySet.From(options.Keys, problems);
        if (problems.Count > 0) throw new PolicyBuildException($"policy \"{name}\": {string.Join("; ", problems)}");
        if (options.JwksUrl is not null) _jwks = new JwksSource(name, options, context.Http, context.Time, context.Logger);
    }

    public string Name { get; }

    /// <summary>Where a token is looked for; for Authorization, only with the Bearer scheme.</summary>
    private readonly record struct Source(JwtTokenSourceKind Kind, byte[] Name, bool IsAuthorization);

    /// <summary>Where the token of this request was: which source, and for a header or cookie, which field.</summary>
    private readonly record struct Found(int Source, int Field);

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        if (!TryFindToken(context, out var token, out var found)) return Answer(JwtRefusal.Missing);
        // Before anything is decoded: a huge token costs a length check.
        if (token.Length > _maxTokenSize) return Answer(JwtRefusal.TooLarge);
        int first = token.IndexOf((byte)'.');
        int second = first < 0 ? -1 : token[(first + 1)..].IndexOf((byte)'.');
        if (second < 0) return Answer(JwtRefusal.Malformed);
        second += first + 1;
        // Three segments exactly (RFC 7515 §7.1); five is a JWE, which is not accepted.
        if (token[(second + 1)..].Contains((byte)'.')) return Answer(JwtRefusal.Malformed);
        var signature = token[(second + 1)..];

        _jwks?.RefreshIfDue();
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (_cache?.Find(token, signature) is { } hit) return new ValueTask<PolicyAnswer?>(Accept(context, hit, found, now));
        return VerifyFirstSight(context, token, first, second, found, now);
    }

    private ValueTask<PolicyAnswer?> Answer(JwtRefusal reason) => new(_answers[reason]);

    /// <summary>Checks what can change between two requests with the same token (time), then applies the token to the request.</summary>
    private PolicyAnswer? Accept(PolicyContext context, VerifiedToken token, Found found, long now)
    {
        // RFC 7519 §4.1.4: not accepted on or after exp; §4.1.5: not before nbf. Written so that no sum overflows.
        if (now - _skewSeconds >= token.Expires) return _answers[JwtRefusal.Expired];
        if (now + _skewSeconds < token.NotBefore) return _answers[JwtRefusal.NotYetValid];
        context.Claims = token.Claims;
        if (token.Consumer is { } consumer) context.Consumer = consumer;
        var names = _headerNames;
        for (int i = 0; i < names.Length; i++)
        {
            // The client's own field of that name never reaches the upstream, claim or not.
            context.RemoveHeaders(names[i]);
            if (token.HeaderValues[i] is { } value) context.AddRequestHeader(names[i], value);
        }
        StripCredentials(context, found);
        return null;
    }
}
