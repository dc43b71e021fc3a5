using System.Buffers.Text;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace FastProxy.Configuration.Values;

/// <summary>
/// Verification keys as data: JWK and JWK Set documents (RFC 7517, RFC 8037 for Ed25519) and PEM public keys and
/// certificates. Used at load for <c>keys = [...]</c> files (so <c>fastproxy check</c> names a bad key file) and by
/// the gateway for fetched JWK Sets. Only public keys and HMAC secrets are read: a private key is refused, the
/// proxy never needs one.
/// </summary>
public static class JwtKeyReader
{
    /// <summary>RSA moduli below this are refused (NIST SP 800-131A: 2048 bits since 2014).</summary>
    public const int MinRsaBits = 2048;
    /// <summary>RFC 7518 §3.2: an HMAC key at least as long as the shortest hash output (HS256).</summary>
    public const int MinSecretBytes = 32;

    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";
    private const string Ed25519Oid = "1.3.101.112";

    /// <summary>A key file: JSON (one JWK or a JWK Set) or PEM (public keys and certificates, one or more).</summary>
    public static List<JwtKeyMaterial> ReadFile(string file, List<string> problems)
    {
        var bytes = File.ReadAllBytes(file);
        var name = Path.GetFileName(file);
        var text = bytes.AsSpan().TrimStart(" \t\r\n\uFEFF"u8);
        if (text.StartsWith("{"u8)) return ReadJson(bytes.AsMemory(bytes.Length - text.Length), name, allowSecrets: true, problems);
        return ReadPem(Encoding.UTF8.GetString(bytes), name, problems);
    }

    /// <summary>
    /// A JWK Set (<c>{"keys": [...]}</c>) or a single JWK. Keys that cannot be used for JWS verification (another
    /// "use", an encryption "alg", an unknown type or curve, a short RSA modulus) are left out, each with a problem.
    /// </summary>
    /// <param name="allowSecrets">Whether "oct" keys (HMAC secrets) are taken: from a local file yes; from a URL no, since a published secret is no secret.</param>
    public static List<JwtKeyMaterial> ReadJson(ReadOnlyMemory<byte> json, string origin, bool allowSecrets, List<string> problems)
    {
        var keys = new List<JwtKeyMaterial>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            problems.Add($"{origin}: not valid JSON ({e.Message})");
            return keys;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems.Add($"{origin}: expected a JWK or a JWK Set (a JSON object)");
                return keys;
            }
            if (root.TryGetProperty("keys", out var set))
            {
                if (set.ValueKind != JsonValueKind.Array)
                {
                    problems.Add($"{origin}: \"keys\" must be an array");
                    return keys;
                }
                int index = 0;
                foreach (var jwk in set.EnumerateArray())
                {
                    if (ReadJwk(jwk, $"{origin} keys[{index}]", allowSecrets, problems) is { } key) keys.Add(key);
                    index++;
                }
            }
            else if (ReadJwk(root, origin, allowSecrets, problems) is { } key)
            {
                keys.Add(key);
            }
        }
        return keys;
    }

    private static JwtKeyMaterial? ReadJwk(JsonElement jwk, string where, bool allowSecrets, List<string> problems)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{where}: not a JSON object");
            return null;
        }
        string? kid = Text(jwk, "kid");
        if (kid is not null) where = $"{where} (kid \"{kid}\")";
        var use = Text(jwk, "use");
        if (use is not null && use != "sig")
        {
            problems.Add($"{where}: \"use\" is \"{use}\", not \"sig\": left out");
            return null;
        }
        JwtAlgorithm? algorithm = null;
        if (Text(jwk, "alg") is { } alg)
        {
            if (alg == "none" || !JwtAlgorithms.TryParse(alg, out var parsed))
            {
                problems.Add($"{where}: \"alg\" \"{alg}\" is not a JWS signature algorithm: left out");
                return null;
            }
            algorithm = parsed;
        }
        switch (Text(jwk, "kty"))
        {
            case "RSA":
            {
                var n = Bytes(jwk, "n", where, problems);
                var e = Bytes(jwk, "e", where, problems);
                if (n is null || e is null) return null;
                return RsaKey(n, e, kid, algorithm, where, problems);
            }
            case "EC":
            {
                var crv = Text(jwk, "crv") ?? "";
                int size = CoordinateSize(crv);
                if (size == 0)
                {
                    problems.Add($"{where}: curve \"{crv}\" is not supported (P-256, P-384, P-521)");
                    return null;
                }
                var x = Bytes(jwk, "x", where, problems);
                var y = Bytes(jwk, "y", where, problems);
                if (x is null || y is null) return null;
                if (x.Length != size || y.Length != size)
                {
                    problems.Add($"{where}: {crv} coordinates must be {size} bytes each");
                    return null;
                }
                if (!OnCurve(crv, x, y))
                {
                    problems.Add($"{where}: the point is not on {crv}");
                    return null;
                }
                return new JwtKeyMaterial { Type = JwtKeyType.EllipticCurve, Kid = kid, Algorithm = algorithm, Curve = crv, X = x, Y = y, Origin = where };
            }
            case "OKP":
            {
                var crv = Text(jwk, "crv");
                if (crv != "Ed25519")
                {
                    problems.Add($"{where}: OKP curve \"{crv}\" is not supported (Ed25519)");
                    return null;
                }
                var x = Bytes(jwk, "x", where, problems);
                if (x is null) return null;
                if (x.Length != 32)
                {
                    problems.Add($"{where}: an Ed25519 public key is 32 bytes");
                    return null;
                }
                return new JwtKeyMaterial { Type = JwtKeyType.Ed25519, Kid = kid, Algorithm = algorithm, Curve = "Ed25519", X = x, Origin = where };
            }
            case "oct":
            {
                if (!allowSecrets)
                {
                    problems.Add($"{where}: an HMAC secret (\"oct\") published at a URL is not a secret: left out");
                    return null;
                }
                var k = Bytes(jwk, "k", where, problems);
                if (k is null) return null;
                if (k.Length < MinSecretBytes)
                {
                    problems.Add($"{where}: an HMAC secret must be at least {MinSecretBytes} bytes (RFC 7518 §3.2), this one is {k.Length}");
                    return null;
                }
                return new JwtKeyMaterial { Type = JwtKeyType.Secret, Kid = kid, Algorithm = algorithm, Secret = k, Origin = where };
            }
            case var other:
                problems.Add($"{where}: key type \"{other}\" is not supported (RSA, EC, OKP, oct)");
                return null;
        }
    }

    /// <summary>PEM blocks: PUBLIC KEY (RSA, EC, Ed25519), RSA PUBLIC KEY, CERTIFICATE. Private keys are refused.</summary>
    public static List<JwtKeyMaterial> ReadPem(string text, string origin, List<string> problems)
    {
        var keys = new List<JwtKeyMaterial>();
        var rest = text.AsSpan();
        int offset = 0;
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            var der = Convert.FromBase64String(rest[fields.Base64Data].ToString());
            var where = keys.Count == 0 && offset == 0 ? origin : $"{origin} (block at character {offset + fields.Location.Start.Value})";
            try
            {
                var key = label switch
                {
                    "PUBLIC KEY" => FromSubjectPublicKeyInfo(der, where, problems),
                    "RSA PUBLIC KEY" => FromRsa(RsaFrom(r => r.ImportRSAPublicKey(der, out _)), where, problems),
                    "CERTIFICATE" => FromCertificate(der, where, problems),
                    _ when label.Contains("PRIVATE KEY", StringComparison.Ordinal) =>
                        Problem(problems, $"{where}: a private key; give the public key instead (openssl pkey -in KEY -pubout)"),
                    _ => Problem(problems, $"{where}: PEM \"{label}\" is not a public key or certificate"),
                };
                if (key is not null) keys.Add(key);
            }
            catch (Exception e) when (e is CryptographicException or AsnContentException)
            {
                problems.Add($"{where}: PEM \"{label}\" could not be read as a key");
            }
            int consumed = fields.Location.End.Value;
            offset += consumed;
            rest = rest[consumed..];
        }
        if (keys.Count == 0 && problems.Count == 0) problems.Add($"{origin}: no PEM block and not JSON: expected a PEM public key, certificate, JWK or JWK Set");
        return keys;
    }

    private static JwtKeyMaterial? FromSubjectPublicKeyInfo(byte[] der, string where, List<string> problems)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var spki = reader.ReadSequence();
        var algorithm = spki.ReadSequence();
        var oid = algorithm.ReadObjectIdentifier();
        switch (oid)
        {
            case RsaOid:
                return FromRsa(RsaFrom(r => r.ImportSubjectPublicKeyInfo(der, out _)), where, problems);
            case EcOid:
            {
                using var ec = ECDsa.Create();
                ec.ImportSubjectPublicKeyInfo(der, out _);
                return FromEc(ec.ExportParameters(false), where, problems);
            }
            case Ed25519Oid:
            {
                var key = spki.ReadBitString(out int unused);
                return FromEd25519(key, unused, where, problems);
            }
            default:
                return Problem(problems, $"{where}: public key algorithm {oid} is not supported (RSA, EC, Ed25519)");
        }
    }

    private static JwtKeyMaterial? FromCertificate(byte[] der, string where, List<string> problems)
    {
        using var certificate = X509CertificateLoader.LoadCertificate(der);
        switch (certificate.PublicKey.Oid.Value)
        {
            case RsaOid:
                using (var rsa = certificate.GetRSAPublicKey()!) return FromRsa(rsa.ExportParameters(false), where, problems);
            case EcOid:
                using (var ec = certificate.GetECDsaPublicKey()!) return FromEc(ec.ExportParameters(false), where, problems);
            case Ed25519Oid:
                return FromEd25519(certificate.PublicKey.EncodedKeyValue.RawData, 0, where, problems);
            default:
                return Problem(problems, $"{where}: certificate key algorithm {certificate.PublicKey.Oid.Value} is not supported (RSA, EC, Ed25519)");
        }
    }

    private static RSAParameters RsaFrom(Action<RSA> import)
    {
        using var rsa = RSA.Create();
        import(rsa);
        return rsa.ExportParameters(false);
    }

    private static JwtKeyMaterial? FromRsa(RSAParameters parameters, string where, List<string> problems) =>
        RsaKey(parameters.Modulus!, parameters.Exponent!, null, null, where, problems);

    private static JwtKeyMaterial? RsaKey(byte[] n, byte[] e, string? kid, JwtAlgorithm? algorithm, string where, List<string> problems)
    {
        n = TrimLeadingZeros(n);
        e = TrimLeadingZeros(e);
        int bits = n.Length == 0 ? 0 : (n.Length - 1) * 8 + (8 - System.Numerics.BitOperations.LeadingZeroCount((uint)n[0]) + 24);
        if (bits < MinRsaBits)
        {
            problems.Add($"{where}: an RSA key of {bits} bits; at least {MinRsaBits} are required");
            return null;
        }
        if (e.Length == 0 || e.Length > 8)
        {
            problems.Add($"{where}: the RSA exponent is not usable");
            return null;
        }
        return new JwtKeyMaterial { Type = JwtKeyType.Rsa, Kid = kid, Algorithm = algorithm, Modulus = n, Exponent = e, Origin = where };
    }

    private static JwtKeyMaterial? FromEc(ECParameters parameters, string where, List<string> problems)
    {
        var crv = parameters.Curve.Oid.Value switch
        {
            "1.2.840.10045.3.1.7" => "P-256",
            "1.3.132.0.34" => "P-384",
            "1.3.132.0.35" => "P-521",
            _ => null,
        };
        if (crv is null) return Problem(problems, $"{where}: curve {parameters.Curve.Oid.FriendlyName ?? parameters.Curve.Oid.Value} is not supported (P-256, P-384, P-521)");
        return new JwtKeyMaterial { Type = JwtKeyType.EllipticCurve, Curve = crv, X = parameters.Q.X!, Y = parameters.Q.Y!, Origin = where };
    }

    private static JwtKeyMaterial? FromEd25519(byte[] key, int unusedBits, string where, List<string> problems) =>
        key.Length == 32 && unusedBits == 0
            ? new JwtKeyMaterial { Type = JwtKeyType.Ed25519, Curve = "Ed25519", X = key, Origin = where }
            : Problem(problems, $"{where}: an Ed25519 public key is 32 bytes");

    private static JwtKeyMaterial? Problem(List<string> problems, string problem)
    {
        problems.Add(problem);
        return null;
    }

    /// <summary>Importing checks the point (an invalid-curve point would leak nothing here, but it is no key either).</summary>
    private static bool OnCurve(string crv, byte[] x, byte[] y)
    {
        var curve = crv switch
        {
            "P-256" => ECCurve.NamedCurves.nistP256,
            "P-384" => ECCurve.NamedCurves.nistP384,
            _ => ECCurve.NamedCurves.nistP521,
        };
        try
        {
            using var ec = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } });
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The coordinate size of a JWK "crv" in bytes; 0: not supported.</summary>
    public static int CoordinateSize(string curve) => curve switch
    {
        "P-256" => 32,
        "P-384" => 48,
        "P-521" => 66,
        _ => 0,
    };

    private static string? Text(JsonElement jwk, string member) =>
        jwk.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static byte[]? Bytes(JsonElement jwk, string member, string where, List<string> problems)
    {
        var text = Text(jwk, member);
        if (text is null)
        {
            problems.Add($"{where}: \"{member}\" is missing");
            return null;
        }
        var utf8 = Encoding.ASCII.GetBytes(text);
        var bytes = new byte[Base64Url.GetMaxDecodedLength(utf8.Length)];
        if (Base64Url.DecodeFromUtf8(utf8, bytes, out _, out int written) != System.Buffers.OperationStatus.Done)
        {
            problems.Add($"{where}: \"{member}\" is not base64url");
            return null;
        }
        return bytes[..written];
    }

    private static byte[] TrimLeadingZeros(byte[] value)
    {
        int i = 0;
        while (i < value.Length - 1 && value[i] == 0) i++;
        return i == 0 ? value : value[i..];
    }
}
