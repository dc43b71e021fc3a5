using System.Security.Cryptography;
using System.Text;
using FastProxy.Configuration;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>
/// One verification key, ready to use: the RSA or ECDSA object (System.Security.Cryptography, OpenSSL underneath),
/// the decoded Ed25519 point (BouncyCastle: .NET has no Ed25519), or the HMAC secret. A key verifies only the
/// algorithms its type, curve, size and own "alg" fit (<see cref="JwtKeyMaterial.Fits"/>): an RSA public key is never
/// used as an HMAC secret, an HMAC secret never verifies an RS token. Immutable but for <see cref="Retired"/>.
/// </summary>
internal sealed class JwtKey
{
    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;
    private readonly Ed25519.PublicPoint? _ed25519;
    private readonly byte[]? _secret;
    private readonly int _signatureLength;

    private JwtKey(JwtKeyMaterial material)
    {
        Material = material;
        KidUtf8 = material.Kid is null ? null : Encoding.UTF8.GetBytes(material.Kid);
        switch (material.Type)
        {
            case JwtKeyType.Rsa:
                _rsa = RSA.Create(new RSAParameters { Modulus = material.Modulus, Exponent = material.Exponent });
                _signatureLength = material.Modulus.Length;
                break;
            case JwtKeyType.EllipticCurve:
                var curve = material.Curve switch
                {
                    "P-256" => ECCurve.NamedCurves.nistP256,
                    "P-384" => ECCurve.NamedCurves.nistP384,
                    _ => ECCurve.NamedCurves.nistP521,
                };
                // ImportParameters checks that the point is on the curve.
                _ecdsa = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = material.X, Y = material.Y } });
                _signatureLength = material.X.Length * 2;
                break;
            case JwtKeyType.Ed25519:
                // Full validation (on the curve, not of small order): a bad key is refused here, not at each token.
                _ed25519 = Ed25519.ValidatePublicKeyFullExport(material.X) ?? throw new CryptographicException("not a valid Ed25519 public key");
                _signatureLength = Ed25519.SignatureSize;
                break;
            case JwtKeyType.Secret:
                _secret = material.Secret;
                break;
        }
    }

    public JwtKeyMaterial Material { get; }

    /// <summary>The kid as the token carries it, for byte comparison; null: none.</summary>
    public byte[]? KidUtf8 { get; }

    /// <summary>Set when a refreshed key set no longer has this key: tokens it verified stop being taken from the cache.</summary>
    public bool Retired
    {
        get => Volatile.Read(ref _retired);
        set => Volatile.Write(ref _retired, value);
    }
    private bool _retired;

    /// <summary>The key, or null with the reason when the material cannot be used (a point off the curve, a bad Ed25519 key).</summary>
    public static JwtKey? Create(JwtKeyMaterial material, out string? problem)
    {
        try
        {
            problem = null;
            return new JwtKey(material);
        }
        catch (CryptographicException e)
        {
            problem = $"{material.Origin}: {e.Message}";
            return null;
        }
    }

    public bool Fits(JwtAlgorithm algorithm) => Material.Fits(algorithm);

    /// <summary>Checks a JWS signature over <paramref name="signingInput"/> (the ASCII "header.payload"). Call only when <see cref="Fits"/>.</summary>
    public bool Verify(JwtAlgorithm algorithm, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature)
    {
        try
        {
            switch (algorithm)
            {
                case JwtAlgorithm.RS256: return VerifyRsa(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                case JwtAlgorithm.RS384: return VerifyRsa(signingInput, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1);
                case JwtAlgorithm.RS512: return VerifyRsa(signingInput, signature, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1);
                // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash (what RSASignaturePadding.Pss does).
                case JwtAlgorithm.PS256: return VerifyRsa(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
                case JwtAlgorithm.PS384: return VerifyRsa(signingInput, signature, HashAlgorithmName.SHA384, RSASignaturePadding.Pss);
                case JwtAlgorithm.PS512: return VerifyRsa(signingInput, signature, HashAlgorithmName.SHA512, RSASignaturePadding.Pss);
                // RFC 7518 §3.4: R and S concatenated, each as long as the curve's coordinates (IEEE P1363).
                case JwtAlgorithm.ES256: return VerifyEcdsa(signingInput, signature, HashAlgorithmName.SHA256);
                case JwtAlgorithm.ES384: return VerifyEcdsa(signingInput, signature, HashAlgorithmName.SHA384);
                case JwtAlgorithm.ES512: return VerifyEcdsa(signingInput, signature, HashAlgorithmName.SHA512);
                case JwtAlgorithm.EdDSA:
                    return signature.Length == _signatureLength && Ed25519.Verify(signature, _ed25519!, signingInput);
                case JwtAlgorithm.HS256: return VerifyHmac(signingInput, signature, 32, HMACSHA256.HashData);
                case JwtAlgorithm.HS384: return VerifyHmac(signingInput, signature, 48, HMACSHA384.HashData);
                case JwtAlgorithm.HS512: return VerifyHmac(signingInput, signature, 64, HMACSHA512.HashData);
                default: return false;
            }
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private bool VerifyRsa(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, HashAlgorithmName hash, RSASignaturePadding padding) =>
        signature.Length == _signatureLength && _rsa!.VerifyData(data, signature, hash, padding);

    private bool VerifyEcdsa(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, HashAlgorithmName hash) =>
        signature.Length == _signatureLength && _ecdsa!.VerifyData(data, signature, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    private delegate int Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> source, Span<byte> destination);

    private bool VerifyHmac(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature, int length, Mac mac)
    {
        if (signature.Length != length) return false;
        Span<byte> expected = stackalloc byte[64];
        mac(_secret, data, expected);
        return CryptographicOperations.FixedTimeEquals(expected[..length], signature);
    }

    public bool HasKid(ReadOnlySpan<byte> kid) => KidUtf8 is not null && kid.SequenceEqual(KidUtf8);
}

/// <summary>An immutable set of keys (the static ones, or one fetch of a JWK Set).</summary>
internal sealed class JwtKeySet
{
    public static readonly JwtKeySet Empty = new([]);

    public JwtKeySet(JwtKey[] keys) => Keys = keys;

    public JwtKey[] Keys { get; }

    public bool HasKid(ReadOnlySpan<byte> kid)
    {
        foreach (var key in Keys)
        {
            if (key.HasKid(kid)) return true;
        }
        return false;
    }

    /// <summary>Builds keys from material, skipping (and reporting) unusable ones.</summary>
    public static JwtKeySet From(IEnumerable<JwtKeyMaterial> materials, List<string> problems, JwtKeySet? previous = null)
    {
        var keys = new List<JwtKey>();
        foreach (var material in materials)
        {
            // An unchanged key keeps its object, so tokens it verified stay in the cache.
            var same = previous?.Keys.FirstOrDefault(k => k.Material.SameAs(material));
            if (same is not null)
            {
                keys.Add(same);
                continue;
            }
            if (JwtKey.Create(material, out var problem) is { } key) keys.Add(key);
            else problems.Add(problem!);
        }
        return new JwtKeySet([.. keys]);
    }
}
