using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "forward_auth": url, timeout, request_headers, copy_headers, copy_response_headers, consumer_header.
/// Header lists are names only (tokens, case-insensitive, stored lower-case); names whose meaning belongs to the
/// proxy (framing, hop-by-hop, the X-Forwarded-* set it computes itself, x-consumer) are refused with the reason.
/// </summary>
internal sealed class ForwardAuthPolicyType : IPolicyType
{
    public string Name => "forward_auth";

    public IReadOnlyList<string> Keys { get; } = ["url", "timeout", "request_headers", "copy_headers", "copy_response_headers", "consumer_header"];

    // Framing and hop-by-hop fields (RFC 9110 §7.6.1): each message has its own, so copying one across is a lie.
    private static readonly string[] Framing =
        ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "host", "expect"];

    /// <summary>What the proxy always sends the auth service, computed from the request: a client's own copy would be a forgery.</summary>
    public static readonly string[] ComputedRequestHeaders =
        ["x-forwarded-method", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-uri", "x-forwarded-for", "x-original-method", "x-original-url"];

    public PolicyOptions? Read(TableReader policy)
    {
        var url = ReadUrl(policy);
        var timeout = policy.Duration("timeout") ?? TimeSpan.FromSeconds(2);
        var requestHeaders = Names(policy, "request_headers", (name) =>
            Array.IndexOf(Framing, name) >= 0 ? $"{name} belongs to the auth request's own framing, not the client's"
            : Array.IndexOf(ComputedRequestHeaders, name) >= 0 ? $"{name} is always sent, computed by the proxy (a client's own is never passed on)"
            : IsConsumerHeader(name) ? $"{name} is never taken from a client"
            : null);
        var copyHeaders = Names(policy, "copy_headers", (name) =>
            Array.IndexOf(Framing, name) >= 0 ? $"{name} belongs to each message's own framing and cannot be copied"
            : IsConsumerHeader(name) ? $"{name} is set by the proxy from the consumer (see consumer_header)"
            : name is "x-forwarded-for" or "forwarded" ? $"{name} is set by the proxy from the client's address"
            : null);
        var responseHeaders = Names(policy, "copy_response_headers", (name) =>
            Array.IndexOf(Framing, name) >= 0 || name == "date" ? $"{name} is written by the proxy for the client's response" : null);
        string? consumerHeader = null;
        if (policy.String("consumer_header") is { } text)
        {
            if (!HttpSyntax.IsToken(text)) policy.Error("consumer_header", $"invalid header name \"{text}\": expected letters, digits and !#$%&'*+-.^_`|~");
            else consumerHeader = text.ToLowerInvariant();
        }
        if (url is null) return null;
        return new ForwardAuthOptions
        {
            Url = url,
            Timeout = timeout,
            RequestHeaders = requestHeaders ?? ForwardAuthOptions.DefaultRequestHeaders,
            CopyHeaders = copyHeaders ?? [],
            CopyResponseHeaders = responseHeaders ?? [],
            ConsumerHeader = consumerHeader,
        };
    }

    // x_consumer_custom_id aliases x-consumer-custom-id at many origins (KnownHeader.Consumer treats both alike).
    private static bool IsConsumerHeader(string name) =>
        name.StartsWith("x-consumer", StringComparison.Ordinal) || name.StartsWith("x_consumer", StringComparison.Ordinal);

    private static Uri? ReadUrl(TableReader policy)
    {
        var text = policy.RequiredString("url");
        if (text is null) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            policy.Error("url", $"expected an absolute http:// or https:// URL, e.g. \"http://127.0.0.1:9000/verify\", got \"{text}\"");
            return null;
        }
        if (url.Host.Length == 0)
        {
            policy.Error("url", "names no host");
            return null;
        }
        // The client would not send user:password@ as credentials: say so rather than silently drop them.
        if (url.UserInfo.Length > 0)
        {
            policy.Error("url", "must not carry user:password@ (credentials in a URL are not sent)");
            return null;
        }
        if (text.Contains('#'))
        {
            policy.Error("url", "must not carry a #fragment (never sent)");
            return null;
        }
        return url;
    }

    /// <summary>A list of header names, lower-cased; null when absent (the default applies).</summary>
    private static List<string>? Names(TableReader policy, string key, Func<string, string?> refused)
    {
        var items = policy.Strings(key);
        if (items is null) return null;
        var names = new List<string>();
        foreach (var (name, path) in items)
        {
            var lower = name.ToLowerInvariant();
            if (!HttpSyntax.IsToken(name))
            {
                policy.Context.Error(path, $"invalid header name \"{name}\": expected letters, digits and !#$%&'*+-.^_`|~");
            }
            else if (refused(lower) is { } why)
            {
                policy.Context.Error(path, why);
            }
            else if (names.Contains(lower))
            {
                // RFC 9110 §5.1: names are case-insensitive.
                policy.Context.Error(path, $"header \"{name}\" listed twice (names are case-insensitive)");
            }
            else
            {
                names.Add(lower);
            }
        }
        return names;
    }
}
