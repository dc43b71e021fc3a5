using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace FastProxy.Admin;

/// <summary>What a state-changing admin request (POST) is allowed to do.</summary>
internal enum AdminAccess
{
    Allowed,
    /// <summary>401: a token is set and the request carries none.</summary>
    MissingToken,
    /// <summary>401: a token is set and the request carries another one (or a malformed Authorization).</summary>
    WrongToken,
    /// <summary>403: no token is set and the admin listener is reachable from the network.</summary>
    Forbidden,
}

/// <summary>
/// Who may change state through the admin listener. With `[admin] token` set, every POST must carry it as
/// `Authorization: Bearer TOKEN`, wherever the listener is bound (setting a token means it is wanted: a local user
/// on a shared machine is held to it too). Without a token, POSTs are accepted only on a loopback listener, where
/// only this machine can connect; elsewhere they are refused with 403. GET endpoints are read-only and open.
/// </summary>
internal static class AdminAuth
{
    /// <summary>Loopback, including an IPv4 loopback address mapped into IPv6 (::ffff:127.0.0.1). 127.0.0.0/8 is all loopback.</summary>
    public static bool IsLoopback(IPAddress address)
        => IPAddress.IsLoopback(address) || (address.IsIPv4MappedToIPv6 && IPAddress.IsLoopback(address.MapToIPv4()));

    /// <param name="listener">The address the admin listener is bound to.</param>
    /// <param name="tokenHash">SHA-256 of `[admin] token`; null when none is set.</param>
    /// <param name="authorization">The request's Authorization field; null when absent (or sent twice: see the caller).</param>
    public static AdminAccess Decide(IPAddress listener, byte[]? tokenHash, string? authorization)
    {
        if (tokenHash is null) return IsLoopback(listener) ? AdminAccess.Allowed : AdminAccess.Forbidden;
        if (authorization is null) return AdminAccess.MissingToken;
        var value = authorization.AsSpan().Trim();
        // RFC 6750 §2.1: "Bearer" (the scheme is case-insensitive, RFC 9110 §11.1), one or more spaces, the token.
        if (value.Length < 7 || !value[..6].Equals("Bearer", StringComparison.OrdinalIgnoreCase) || value[6] != ' ')
            return AdminAccess.WrongToken;
        var presented = value[7..].TrimStart(' ');
        // Hashing first makes both sides 32 bytes: the comparison's time says nothing about the token's length or prefix.
        // (Not the request path: an allocation per admin request is fine.)
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented.ToString()), digest);
        return CryptographicOperations.FixedTimeEquals(digest, tokenHash) ? AdminAccess.Allowed : AdminAccess.WrongToken;
    }
}
