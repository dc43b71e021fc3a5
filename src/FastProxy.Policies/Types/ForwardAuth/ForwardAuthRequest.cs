using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.ForwardAuth;

/// <summary>A header name as configured (lower-case), as text and as the bytes the request view compares.</summary>
internal sealed record HeaderName(string Text, byte[] Bytes)
{
    public static HeaderName[] From(IReadOnlyList<string> names)
    {
        var result = new HeaderName[names.Count];
        for (int i = 0; i < result.Length; i++) result[i] = new HeaderName(names[i], Encoding.ASCII.GetBytes(names[i]));
        return result;
    }
}

/// <summary>
/// The question put to the auth service: a GET to its URL, no body, with the listed client headers and the
/// X-Forwarded-* set Traefik sends (plus nginx auth_request's usual X-Original-Method and X-Original-URL), computed
/// from the request as the proxy understood it: method, scheme, Host, the path in normal form with the query as
/// earlier policies left it (an API key taken out of the query is not shown), and the client address [client_ip]
/// resolved. A client's own X-Forwarded-* never reach the auth service, so it cannot be told another path or address.
/// </summary>
internal static class ForwardAuthRequest
{
    public static OutboundRequest Build(PolicyContext context, Uri url, TimeSpan timeout, HeaderName[] copied)
    {
        var request = new OutboundRequest { Method = "GET", Url = url, Timeout = timeout, MaxResponseBytes = ForwardAuthPolicy.MaxAnswerBytes };
        var headers = request.Headers;
        foreach (var header in copied)
        {
            // Several fields of one name become one (RFC 9110 §5.3); HTTP/2 clients split Cookie into one field per
            // cookie (RFC 9113 §8.2.3), joined again with "; ".
            string? joined = null;
            for (int i = context.FindHeader(header.Bytes); i >= 0; i = context.FindHeader(header.Bytes, i + 1))
            {
                var value = Latin1(context.HeaderValue(i));
                joined = joined is null ? value : string.Concat(joined, header.Text == "cookie" ? "; " : ", ", value);
            }
            if (joined is not null) headers.Add(new(header.Text, joined));
        }

        var method = Latin1(context.MethodBytes);
        var proto = context.Secure ? "https" : "http";
        var host = Latin1(context.Request.Host(context.Head));
        var uri = Target(context);
        headers.Add(new("X-Forwarded-Method", method));
        headers.Add(new("X-Forwarded-Proto", proto));
        if (host.Length > 0) headers.Add(new("X-Forwarded-Host", host));
        headers.Add(new("X-Forwarded-Uri", uri));
        if (!context.ClientText.IsEmpty) headers.Add(new("X-Forwarded-For", Latin1(context.ClientText)));
        headers.Add(new("X-Original-Method", method));
        if (host.Length > 0) headers.Add(new("X-Original-URL", string.Concat(proto, "://", host, uri)));
        return request;
    }

    /// <summary>The path and query the upstream would be asked for (before strip_prefix), "/" for an empty path.</summary>
    private static string Target(PolicyContext context)
    {
        var path = context.Path;
        var query = context.Query;
        if (context.QueryEdited)
        {
            var edited = new byte[query.Length + context.QueryGrowth];
            query = edited.AsSpan(0, context.CopyEditedQuery(edited));
        }
        var builder = new StringBuilder(path.Length + query.Length + 2);
        if (path.IsEmpty || path[0] != (byte)'/') builder.Append('/');
        builder.Append(Latin1(path));
        if (!query.IsEmpty) builder.Append('?').Append(Latin1(query));
        return builder.ToString();
    }

    // Latin-1 keeps every byte as one char and back (obs-text included); the outbound client sends them as Latin-1.
    private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);
}
