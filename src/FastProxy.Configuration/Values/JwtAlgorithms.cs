namespace FastProxy.Configuration.Values;

/// <summary>The JWS "alg" names (RFC 7518 §3.1, RFC 8037 §3.1) and their <see cref="JwtAlgorithm"/>.</summary>
public static class JwtAlgorithms
{
    private static readonly JwtAlgorithm[] s_all = Enum.GetValues<JwtAlgorithm>();
    private static readonly byte[][] s_utf8 = [.. s_all.Select(a => System.Text.Encoding.ASCII.GetBytes(Name(a)))];

    public static IReadOnlyList<JwtAlgorithm> All => s_all;

    public static string Name(JwtAlgorithm algorithm) => algorithm switch
    {
        JwtAlgorithm.RS256 => "RS256", JwtAlgorithm.RS384 => "RS384", JwtAlgorithm.RS512 => "RS512",
        JwtAlgorithm.PS256 => "PS256", JwtAlgorithm.PS384 => "PS384", JwtAlgorithm.PS512 => "PS512",
        JwtAlgorithm.ES256 => "ES256", JwtAlgorithm.ES384 => "ES384", JwtAlgorithm.ES512 => "ES512",
        JwtAlgorithm.EdDSA => "EdDSA",
        JwtAlgorithm.HS256 => "HS256", JwtAlgorithm.HS384 => "HS384", JwtAlgorithm.HS512 => "HS512",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>Exact, case-sensitive (JWS names are: RFC 7515 §4.1.1).</summary>
    public static bool TryParse(ReadOnlySpan<byte> name, out JwtAlgorithm algorithm)
    {
        for (int i = 0; i < s_utf8.Length; i++)
        {
            if (name.SequenceEqual(s_utf8[i]))
            {
                algorithm = s_all[i];
                return true;
            }
        }
        algorithm = default;
        return false;
    }

    public static bool TryParse(string name, out JwtAlgorithm algorithm) =>
        TryParse(System.Text.Encoding.UTF8.GetBytes(name), out algorithm);

    public static bool IsHmac(JwtAlgorithm algorithm) => algorithm is JwtAlgorithm.HS256 or JwtAlgorithm.HS384 or JwtAlgorithm.HS512;
}
