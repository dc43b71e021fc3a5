using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace FastProxy.Policies.Types.BasicAuth;

/// <summary>
/// A password as an htpasswd line keeps it: a hash to check a presented password against. Every check ends in
/// <see cref="CryptographicOperations.FixedTimeEquals"/> on fixed-length values, so how long a refusal takes says
/// nothing about how much of the password was right.
/// </summary>
internal abstract class StoredPassword
{
    /// <summary>From a hash the validator accepted (PasswordHashes.Check): {SHA} or bcrypt.</summary>
    public static StoredPassword Parse(string hash) => hash.StartsWith("{SHA}", StringComparison.Ordinal)
        ? new Sha1Password(hash)
        : new BcryptPassword(hash);

    /// <summary>Costs milliseconds of CPU (bcrypt): checked off the I/O thread, and a success is remembered.</summary>
    public abstract bool IsSlow { get; }

    public abstract bool Matches(ReadOnlySpan<byte> password);
}

/// <summary>{SHA}base64(SHA-1(password)), as htpasswd -s writes it: unsalted, so kept for compatibility; one hash per check, no allocation.</summary>
internal sealed class Sha1Password : StoredPassword
{
    private readonly byte[] _digest;

    public Sha1Password(string hash) => _digest = Convert.FromBase64String(hash[5..]);

    public override bool IsSlow => false;

    public override bool Matches(ReadOnlySpan<byte> password)
    {
        Span<byte> digest = stackalloc byte[SHA1.HashSizeInBytes];
        SHA1.HashData(password, digest);
        return CryptographicOperations.FixedTimeEquals(digest, _digest);
    }
}

/// <summary>
/// bcrypt ($2y$, $2b$, $2a$: htpasswd -B): the presented password is hashed again with the stored salt and cost
/// (BCrypt.Net-Next) and the two 60-character results compared in constant time here, not by the library.
/// </summary>
internal sealed class BcryptPassword : StoredPassword
{
    private const int HashLength = 60;
    private readonly string _hash;
    private readonly byte[] _hashBytes;

    public BcryptPassword(string hash)
    {
        _hash = hash;
        _hashBytes = Encoding.ASCII.GetBytes(hash);
    }

    public override bool IsSlow => true;

    public override bool Matches(ReadOnlySpan<byte> password)
    {
        // The library hashes a string's UTF-8: bytes that are not UTF-8 would all decode to U+FFFD and collide.
        if (!Utf8.IsValid(password)) return false;
        string computed;
        try
        {
            computed = BCrypt.Net.BCrypt.HashPassword(Encoding.UTF8.GetString(password), _hash);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[HashLength];
        return computed.Length == HashLength
            && Encoding.ASCII.GetBytes(computed, bytes) == HashLength
            && CryptographicOperations.FixedTimeEquals(bytes, _hashBytes);
    }
}
