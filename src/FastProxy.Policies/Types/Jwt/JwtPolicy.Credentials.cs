using System.Buffers;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>
/// Where the token is (the from list, in order) and what the upstream gets of it. A credential is never forwarded
/// unless asked: without forward_token, every place the policy reads tokens from is emptied (the Bearer field of
/// Authorization, the other named header fields, the query parameters, the cookies, the other cookies of a Cookie field
/// kept); with forward_token, the verified token goes on and any other token in those places does not, so an upstream
/// that reads a token behind the gateway reads the one that was checked.
/// </summary>
internal sealed partial class JwtPolicy
{
    private bool TryFindToken(PolicyContext context, out ReadOnlySpan<byte> token, out Found found)
    {
        var sources = _sources;
        for (int s = 0; s < sources.Length; s++)
        {
            var source = sources[s];
            switch (source.Kind)
            {
                case JwtTokenSourceKind.Header:
                    for (int i = context.FindHeader(source.Name); i >= 0; i = context.FindHeader(source.Name, i + 1))
                    {
                        if (!TryHeaderToken(source, context.HeaderValue(i), out token)) continue;
                        found = new Found(s, i);
                        return true;
                    }
                    break;
                case JwtTokenSourceKind.Cookie:
                    if (TryFindCookie(context, source.Name, out token, out int field))
                    {
                        found = new Found(s, field);
                        return true;
                    }
                    break;
                case JwtTokenSourceKind.Query:
                    if (context.TryGetQuery(source.Name, out token, out _) && !token.IsEmpty)
                    {
                        found = new Found(s, -1);
                        return true;
                    }
                    break;
            }
        }
        token = default;
        found = default;
        return false;
    }

    /// <summary>
    /// RFC 6750 §2.1: "Bearer" 1*SP token; the scheme is case-insensitive (RFC 9110 §11.1). Another scheme in
    /// Authorization is some other policy's credential, not ours. Another header gives its value (a Bearer prefix dropped).
    /// </summary>
    private static bool TryHeaderToken(Source source, ReadOnlySpan<byte> value, out ReadOnlySpan<byte> token)
    {
        bool bearer = value.Length > 7 && Ascii.EqualsIgnoreCase(value[..6], "Bearer"u8) && value[6] == (byte)' ';
        token = default;
        if (bearer) value = value[7..];
        else if (source.IsAuthorization) return false;
        token = value.Trim((byte)' ');
        return !token.IsEmpty;
    }

    private static bool TryFindCookie(PolicyContext context, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value, out int field)
    {
        for (int i = context.FindHeader("cookie"u8); i >= 0; i = context.FindHeader("cookie"u8, i + 1))
        {
            var cookies = context.HeaderValue(i);
            foreach (var range in cookies.Split((byte)';'))
            {
                var pair = cookies[range].Trim((byte)' ');
                int eq = pair.IndexOf((byte)'=');
                if (eq <= 0 || !pair[..eq].SequenceEqual(name)) continue;
                value = pair[(eq + 1)..].Trim((byte)'"');
                if (value.IsEmpty) continue;
                field = i;
                return true;
            }
        }
        value = default;
        field = -1;
        return false;
    }

    private void StripCredentials(PolicyContext context, Found found)
    {
        bool hasCookieSource = false;
        for (int s = 0; s < _sources.Length; s++)
        {
            var source = _sources[s];
            bool keep = _forwardToken && s == found.Source;
            switch (source.Kind)
            {
                case JwtTokenSourceKind.Header:
                    for (int i = context.FindHeader(source.Name); i >= 0; i = context.FindHeader(source.Name, i + 1))
                    {
                        if (keep && i == found.Field) continue;
                        if (TryHeaderToken(source, context.HeaderValue(i), out _)) context.RemoveHeader(i);
                    }
                    break;
                case JwtTokenSourceKind.Query:
                    if (!keep) context.RemoveQueryParameter(source.Name);
                    break;
                case JwtTokenSourceKind.Cookie:
                    hasCookieSource |= !keep;
                    break;
            }
        }
        if (hasCookieSource) StripCookies(context, found);
    }

    /// <summary>Rewrites each Cookie field that holds a cookie the policy reads tokens from, without it.</summary>
    private void StripCookies(PolicyContext context, Found found)
    {
        for (int i = context.FindHeader("cookie"u8); i >= 0; i = context.FindHeader("cookie"u8, i + 1))
        {
            var cookies = context.HeaderValue(i);
            bool any = false;
            foreach (var range in cookies.Split((byte)';'))
            {
                any |= IsStripped(cookies[range], found);
                if (any) break;
            }
            if (!any) continue;
            // "; " between pairs may be one byte longer than the ";" the client used: room for that.
            var rented = ArrayPool<byte>.Shared.Rent(cookies.Length * 2 + 2);
            int length = 0;
            foreach (var range in cookies.Split((byte)';'))
            {
                var pair = cookies[range].Trim((byte)' ');
                if (pair.IsEmpty || IsStripped(pair, found)) continue;
                if (length > 0)
                {
                    rented[length++] = (byte)';';
                    rented[length++] = (byte)' ';
                }
                pair.CopyTo(rented.AsSpan(length));
                length += pair.Length;
            }
            context.RemoveHeader(i);
            if (length > 0) context.AddRequestHeader("cookie"u8, rented.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private bool IsStripped(ReadOnlySpan<byte> pair, Found found)
    {
        pair = pair.Trim((byte)' ');
        int eq = pair.IndexOf((byte)'=');
        if (eq <= 0) return false;
        var name = pair[..eq];
        for (int s = 0; s < _sources.Length; s++)
        {
            if (_sources[s].Kind != JwtTokenSourceKind.Cookie || (_forwardToken && s == found.Source)) continue;
            if (name.SequenceEqual(_sources[s].Name)) return true;
        }
        return false;
    }
}
