namespace FastProxy.Configuration;

/// <summary>[policies.NAME] type = "jwt": bearer tokens (JWS compact serialization) checked against keys the config names.</summary>
public sealed class JwtOptions : PolicyOptions
{
    /// <summary>Accepted <c>iss</c> values (exact); empty: any issuer.</summary>
    public IReadOnlyList<string> Issuers { get; init; } = [];
    /// <summary>Accepted <c>aud</c> values: the token's audience (a string or a list) must hold one; empty: not checked.</summary>
    public IReadOnlyList<string> Audiences { get; init; } = [];
    /// <summary>Where the signing keys are published (a JWK Set); null: static keys only.</summary>
    public Uri? JwksUrl { get; init; }
    /// <summary>Keys read from files and <c>secret</c> at load.</summary>
    public IReadOnlyList<JwtKeyMaterial> Keys { get; init; } = [];
    /// <summary>The algorithms a token may use; never <c>none</c>. A token's header cannot add to it.</summary>
    public IReadOnlyList<JwtAlgorithm> Algorithms { get; init; } = [];
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>The claim whose value is looked up in [consumers.NAME] jwt_subject.</summary>
    public string ConsumerClaim { get; init; } = "sub";
    /// <summary>Claim name (a dotted path reaches into objects) to request header name, in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ClaimsToHeaders { get; init; } = [];
    /// <summary>Where the token is looked for, in order; the first place that has one is used.</summary>
    public IReadOnlyList<JwtTokenSource> From { get; init; } = [new JwtTokenSource(JwtTokenSourceKind.Header, "authorization")];
    public bool ForwardToken { get; init; }
    /// <summary>The realm of WWW-Authenticate; null: the policy's name.</summary>
    public string? Realm { get; init; }
    /// <summary>Claims a token must carry.</summary>
    public IReadOnlyList<string> RequiredClaims { get; init; } = ["exp"];
    /// <summary>Longer tokens are refused before any decoding.</summary>
    public int MaxTokenSize { get; init; } = 16 * 1024;
    /// <summary>How long fetched keys are kept before they are fetched again (a shorter Cache-Control max-age wins).</summary>
    public TimeSpan JwksRefresh { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>At most one fetch of the key set per this interval, whatever asks for it (unknown kid, retry after a failure).</summary>
    public TimeSpan JwksMinInterval { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan JwksTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Verified tokens remembered by signature; 0: none (every request verifies).</summary>
    public int CacheSize { get; init; } = 1024;
}

/// <summary>The JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1). There is deliberately no member for "none".</summary>
public enum JwtAlgorithm : byte
{
    RS256, RS384, RS512,
    PS256, PS384, PS512,
    ES256, ES384, ES512,
    EdDSA,
    HS256, HS384, HS512,
}

public enum JwtTokenSourceKind : byte
{
    /// <summary>A request header: for Authorization, the Bearer scheme (RFC 6750 §2.1); for any other, the value (a "Bearer " prefix is dropped).</summary>
    Header,
    Cookie,
    /// <summary>A query parameter (RFC 6750 §2.3 names access_token).</summary>
    Query,
}

public readonly record struct JwtTokenSource(JwtTokenSourceKind Kind, string Name);

/// <summary>What kind of key a <see cref="JwtKeyMaterial"/> is (the JWK "kty", RFC 7517 §4.1).</summary>
public enum JwtKeyType : byte
{
    Rsa,
    /// <summary>ECDSA on P-256, P-384 or P-521 ("EC").</summary>
    EllipticCurve,
    /// <summary>Ed25519 ("OKP", RFC 8037).</summary>
    Ed25519,
    /// <summary>An HMAC secret ("oct").</summary>
    Secret,
}

/// <summary>
/// A verification key as data (the JWK members, decoded), read from a PEM or JWK file, a secret, or a fetched JWK Set.
/// The gateway turns it into a key object once; this form is compared across refreshes to keep unchanged keys.
/// </summary>
public sealed class JwtKeyMaterial
{
    public required JwtKeyType Type { get; init; }
    /// <summary>The JWK "kid"; null: the key is tried for any token of an algorithm it fits.</summary>
    public string? Kid { get; init; }
    /// <summary>The JWK "alg": when set, the only algorithm this key verifies.</summary>
    public JwtAlgorithm? Algorithm { get; init; }
    /// <summary>RSA modulus and exponent (big-endian, no leading zeros).</summary>
    public byte[] Modulus { get; init; } = [];
    public byte[] Exponent { get; init; } = [];
    /// <summary>"P-256", "P-384", "P-521" or "Ed25519".</summary>
    public string Curve { get; init; } = "";
    /// <summary>EC point coordinates; for Ed25519, X is the 32-byte public key.</summary>
    public byte[] X { get; init; } = [];
    public byte[] Y { get; init; } = [];
    /// <summary>An HMAC secret.</summary>
    public byte[] Secret { get; init; } = [];
    /// <summary>Where it came from, for messages: a file name, "secret", or the JWKS URL.</summary>
    public string Origin { get; init; } = "";

    /// <summary>Same key, same kid, same algorithm restriction.</summary>
    public bool SameAs(JwtKeyMaterial other) =>
        Type == other.Type && Kid == other.Kid && Algorithm == other.Algorithm && Curve == other.Curve
        && Modulus.AsSpan().SequenceEqual(other.Modulus) && Exponent.AsSpan().SequenceEqual(other.Exponent)
        && X.AsSpan().SequenceEqual(other.X) && Y.AsSpan().SequenceEqual(other.Y) && Secret.AsSpan().SequenceEqual(other.Secret);

    /// <summary>Whether this key can verify <paramref name="algorithm"/> by its type, curve, size and own "alg".</summary>
    public bool Fits(JwtAlgorithm algorithm)
    {
        if (Algorithm is { } own && own != algorithm) return false;
        return algorithm switch
        {
            JwtAlgorithm.RS256 or JwtAlgorithm.RS384 or JwtAlgorithm.RS512
                or JwtAlgorithm.PS256 or JwtAlgorithm.PS384 or JwtAlgorithm.PS512 => Type == JwtKeyType.Rsa,
            JwtAlgorithm.ES256 => Type == JwtKeyType.EllipticCurve && Curve == "P-256",
            JwtAlgorithm.ES384 => Type == JwtKeyType.EllipticCurve && Curve == "P-384",
            JwtAlgorithm.ES512 => Type == JwtKeyType.EllipticCurve && Curve == "P-521",
            JwtAlgorithm.EdDSA => Type == JwtKeyType.Ed25519,
            // RFC 7518 §3.2: a key at least as long as the hash output.
            JwtAlgorithm.HS256 => Type == JwtKeyType.Secret && Secret.Length >= 32,
            JwtAlgorithm.HS384 => Type == JwtKeyType.Secret && Secret.Length >= 48,
            JwtAlgorithm.HS512 => Type == JwtKeyType.Secret && Secret.Length >= 64,
            _ => false,
        };
    }
}
