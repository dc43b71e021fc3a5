using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Configuration.Values;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>
/// The first sight of a token: decode, pick the key, check the signature, then the claims; a token that passes is
/// cached. The order is chosen so a forged token costs one signature check at most: the header (small) is read first,
/// the payload only once the signature holds.
/// </summary>
internal sealed partial class JwtPolicy
{
    /// <summary>A JOSE header is a few dozen bytes; one of 3 KB is not a token this policy will parse.</summary>
    private const int MaxHeaderChars = 4096;
    /// <summary>RSA-8192 signatures are 1,024 bytes, base64url 1,366 characters.</summary>
    private const int MaxSignatureBytes = 1024;
    private const int MaxKidBytes = 256;
    /// <summary>A token without a kid is tried against at most this many keys of its algorithm.</summary>
    private const int MaxKeysTried = 16;

    // RFC 7515 §2: base64url without padding; anything else (padding, whitespace, '+', '/') is a malformed token.
    private static readonly SearchValues<byte> s_base64Url =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"u8);

    private readonly int _allowed;
    private readonly byte[][] _issuers;
    private readonly byte[][] _audiences;
    private readonly byte[][] _required;
    private readonly byte[] _consumerClaim;
    private readonly byte[][] _claimNames;
    private readonly ConsumerDirectory _consumers;
    private readonly JwtKeySet _static;
    private long _signatureChecks;

    /// <summary>Signature verifications done (a cache hit does none): tests and benchmarks read it.</summary>
    internal long SignatureChecks => Interlocked.Read(ref _signatureChecks);

    internal JwksSource? Jwks => _jwks;

    private enum Outcome : byte { Accepted, Refused, NeedsKeys }

    private ValueTask<PolicyAnswer?> VerifyFirstSight(PolicyContext context, ReadOnlySpan<byte> token, int first, int second, Found found, long now)
    {
        var outcome = Verify(token, first, second, now, allowFetch: _jwks is not null, out var verified, out var answer);
        switch (outcome)
        {
            case Outcome.Accepted:
                _cache?.Add(verified!, token[(second + 1)..]);
                return new ValueTask<PolicyAnswer?>(Accept(context, verified!, found, now));
            case Outcome.Refused:
                return new ValueTask<PolicyAnswer?>(answer);
        }
        // A kid the keys do not have: a rotated-in key, or a made-up one. One fetch at a time, one per interval.
        var fetch = _jwks!.Refresh();
        if (fetch is null) return Answer(NoKey());
        return WaitForKeysAsync(context, token.ToArray(), first, second, found, fetch);
    }

    private async ValueTask<PolicyAnswer?> WaitForKeysAsync(PolicyContext context, byte[] token, int first, int second, Found found, Task<JwtKeySet> fetch)
    {
        await fetch.ConfigureAwait(false);
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        var outcome = Verify(token, first, second, now, allowFetch: false, out var verified, out var answer);
        if (outcome == Outcome.Refused) return answer;
        if (outcome == Outcome.NeedsKeys) return _answers[NoKey()];
        _cache?.Add(verified!, token.AsSpan(second + 1));
        return Accept(context, verified!, found, now);
    }

    /// <summary>No key for the token after what fetching was allowed: 401, or 503 when the keys could not be had (the key may exist).</summary>
    private JwtRefusal NoKey() => _jwks!.LastFetchFailed || (_jwks.Keys.Keys.Length == 0 && _static.Keys.Length == 0)
        ? JwtRefusal.KeysUnavailable
        : JwtRefusal.UnknownKey;

    private Outcome Verify(ReadOnlySpan<byte> token, int first, int second, long now, bool allowFetch, out VerifiedToken? verified, out PolicyAnswer? answer)
    {
        verified = null;
        answer = null;
        var headerText = token[..first];
        var payloadText = token[(first + 1)..second];
        var signatureText = token[(second + 1)..];
        if (headerText.IsEmpty || signatureText.IsEmpty || headerText.Length > MaxHeaderChars
            || headerText.IndexOfAnyExcept(s_base64Url) >= 0 || payloadText.IndexOfAnyExcept(s_base64Url) >= 0 || signatureText.IndexOfAnyExcept(s_base64Url) >= 0
            || Base64Url.GetMaxDecodedLength(signatureText.Length) > MaxSignatureBytes)
        {
            return Refuse(JwtRefusal.Malformed, out answer);
        }

        Span<byte> header = stackalloc byte[Base64Url.GetMaxDecodedLength(MaxHeaderChars)];
        Span<byte> kid = stackalloc byte[MaxKidBytes];
        if (!TryDecode(headerText, header, out int headerLength)) return Refuse(JwtRefusal.Malformed, out answer);
        var headerStatus = ReadHeader(header[..headerLength], kid, out var algorithm, out int kidLength);
        if (headerStatus != JwtRefusal.Missing) return Refuse(headerStatus, out answer);
        if ((_allowed & (1 << (int)algorithm)) == 0) return Refuse(JwtRefusal.Algorithm, out answer);

        Span<byte> signature = stackalloc byte[MaxSignatureBytes];
        if (!TryDecode(signatureText, signature, out int signatureLength)) return Refuse(JwtRefusal.Malformed, out answer);
        bool hasKid = kidLength >= 0;
        var kidBytes = hasKid ? kid[..kidLength] : default;
        var signingInput = token[..second];
        int tried = 0;
        var key = TryKeys(_static, algorithm, hasKid, kidBytes, signingInput, signature[..signatureLength], ref tried)
            ?? (_jwks is null ? null : TryKeys(_jwks.Keys, algorithm, hasKid, kidBytes, signingInput, signature[..signatureLength], ref tried));
        if (key is null)
        {
            bool known = hasKid ? _static.HasKid(kidBytes) || (_jwks?.Keys.HasKid(kidBytes) ?? false) : tried > 0;
            if (!known && allowFetch) return Outcome.NeedsKeys;
            if (!known && _jwks is not null) return Refuse(NoKey(), out answer);
            return Refuse(tried == 0 ? JwtRefusal.UnknownKey : JwtRefusal.Signature, out answer);
        }

        // The signature holds: now the payload is worth reading.
        var rented = ArrayPool<byte>.Shared.Rent(Base64Url.GetMaxDecodedLength(payloadText.Length));
        try
        {
            if (!TryDecode(payloadText, rented, out int payloadLength)) return Refuse(JwtRefusal.Malformed, out answer);
            var claims = JwtClaims.Parse(rented.AsSpan(0, payloadLength));
            if (claims is null) return Refuse(JwtRefusal.Malformed, out answer);
            var refusal = CheckClaims(claims, now, out long expires, out long notBefore, out answer);
            if (answer is not null) return Outcome.Refused;
            if (refusal != JwtRefusal.Missing) return Refuse(refusal, out answer);
            verified = new VerifiedToken
            {
                Token = token.ToArray(),
                Expires = expires,
                NotBefore = notBefore,
                Claims = claims,
                Consumer = FindConsumer(claims),
                Key = key,
                HeaderValues = HeaderValues(claims),
            };
            return Outcome.Accepted;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private Outcome Refuse(JwtRefusal reason, out PolicyAnswer? answer)
    {
        answer = _answers[reason];
        return Outcome.Refused;
    }

    private JwtKey? TryKeys(JwtKeySet set, JwtAlgorithm algorithm, bool hasKid, ReadOnlySpan<byte> kid, ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature, ref int tried)
    {
        foreach (var key in set.Keys)
        {
            // A key with a kid verifies only tokens naming it; a key without one (a PEM file, a secret) any token of its algorithm.
            if (!key.Fits(algorithm) || (hasKid && key.KidUtf8 is not null && !key.HasKid(kid))) continue;
            if (tried++ == MaxKeysTried) return null;
            Interlocked.Increment(ref _signatureChecks);
            if (key.Verify(algorithm, signingInput, signature)) return key;
        }
        return null;
    }

    /// <summary>Missing: all good (the reason enum's first member stands for "none" here); otherwise why not.</summary>
    private JwtRefusal CheckClaims(JwtClaims claims, long now, out long expires, out long notBefore, out PolicyAnswer? answer)
    {
        answer = null;
        expires = long.MaxValue;
        notBefore = long.MinValue;
        for (int i = 0; i < _required.Length; i++)
        {
            if (!claims.Has(_required[i]))
            {
                answer = _answers.ClaimMissing(i);
                return JwtRefusal.ClaimMissing;
            }
        }
        if (!RegisteredClaims.TryGetTime(claims, "exp"u8, out long exp, out bool hasExp)
            || !RegisteredClaims.TryGetTime(claims, "nbf"u8, out long nbf, out bool hasNbf))
        {
            return JwtRefusal.Malformed;
        }
        if (hasExp) expires = exp;
        if (hasNbf) notBefore = nbf;
        if (now - _skewSeconds >= expires) return JwtRefusal.Expired;
        if (now + _skewSeconds < notBefore) return JwtRefusal.NotYetValid;
        if (_issuers.Length > 0 && !RegisteredClaims.HoldsAny(claims, "iss"u8, _issuers)) return JwtRefusal.Issuer;
        // RFC 7519 §4.1.3: aud is a string or a list of strings; one accepted value is enough.
        if (_audiences.Length > 0 && !RegisteredClaims.HoldsAny(claims, "aud"u8, _audiences)) return JwtRefusal.Audience;
        return JwtRefusal.Missing;
    }

    private Consumer? FindConsumer(JwtClaims claims)
    {
        if (!claims.TryGetText(_consumerClaim, out var subject) || subject.Length > 1024) return null;
        Span<char> chars = stackalloc char[subject.Length];
        if (!Encoding.UTF8.TryGetChars(subject, chars, out int written)) return null;
        return _consumers.BySubject(chars[..written]);
    }

    private byte[]?[] HeaderValues(JwtClaims claims)
    {
        var values = new byte[]?[_claimNames.Length];
        for (int i = 0; i < values.Length; i++)
        {
            // A claim with CR, LF, NUL or another control character is not sent at all: it cannot become a line of its own.
            if (claims.TryGetText(_claimNames[i], out var value) && !value.IsEmpty && HeaderText.IsFieldValue(value)) values[i] = value.ToArray();
        }
        return values;
    }

    private static bool TryDecode(ReadOnlySpan<byte> text, Span<byte> destination, out int written)
    {
        // 4n+1 characters cannot be base64url (RFC 4648 §5). Two spellings of the same bytes (leftover bits) both reach
        // the signature check, which decides; the cache compares the token's own characters.
        if (text.Length % 4 == 1)
        {
            written = 0;
            return false;
        }
        return Base64Url.DecodeFromUtf8(text, destination, out _, out written) == OperationStatus.Done;
    }

    /// <summary>
    /// The JOSE header (RFC 7515 §4): "alg" (required, one of ours), "kid" (optional). "crit" names extensions the
    /// token requires us to understand: we understand none, so it is refused (§4.1.11). "jku", "x5u" and "jwk" are
    /// ignored: keys are never taken from the token. A repeated member is refused. Missing: all good.
    /// </summary>
    private static JwtRefusal ReadHeader(ReadOnlySpan<byte> json, Span<byte> kid, out JwtAlgorithm algorithm, out int kidLength)
    {
        algorithm = default;
        kidLength = -1;
        bool hasAlgorithm = false, badAlgorithm = false, seenAlg = false;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return JwtRefusal.Malformed;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("alg"u8))
                {
                    if (seenAlg || !reader.Read()) return JwtRefusal.Malformed;
                    seenAlg = true;
                    if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped) badAlgorithm = true;
                    else if (JwtAlgorithms.TryParse(reader.ValueSpan, out algorithm)) hasAlgorithm = true;
                    else badAlgorithm = true; // "none", "HS1", ...
                }
                else if (reader.ValueTextEquals("kid"u8))
                {
                    if (kidLength >= 0 || !reader.Read() || reader.TokenType != JsonTokenType.String) return JwtRefusal.Malformed;
                    if (reader.ValueSpan.Length > kid.Length) return JwtRefusal.Malformed;
                    kidLength = reader.CopyString(kid);
                }
                else if (reader.ValueTextEquals("crit"u8))
                {
                    return JwtRefusal.Malformed;
                }
                else
                {
                    if (!reader.Read()) return JwtRefusal.Malformed;
                    reader.Skip();
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return JwtRefusal.Malformed;
        }
        catch (JsonException)
        {
            return JwtRefusal.Malformed;
        }
        return hasAlgorithm && !badAlgorithm ? JwtRefusal.Missing : JwtRefusal.Algorithm;
    }
}
