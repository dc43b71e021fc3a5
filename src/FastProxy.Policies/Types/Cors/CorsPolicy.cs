using System.Globalization;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Cors;

/// <summary>
/// type = "cors" (Fetch standard, "CORS protocol"). Runs first in every chain (<see cref="IRunsFirst"/>): a browser's
/// preflight (OPTIONS with Origin and Access-Control-Request-Method) carries no credentials, so it is answered here,
/// 204 for an allowed origin, before any authentication policy could refuse it, and never reaches the upstream. A
/// preflight from an origin not allowed gets 403 with no CORS headers (the browser fails it either way; the status
/// tells the operator why). Any other request goes on; from an allowed origin it gets Access-Control-Allow-Origin
/// (and -Allow-Credentials, -Expose-Headers) on whatever answers it, the upstream or a later policy's 401, so the page
/// can read that answer. Unless every origin is allowed, every response varies by Origin and says so.
/// </summary>
internal sealed class CorsPolicy : IPolicy, IRunsFirst
{
    private readonly bool _anyOrigin;
    private readonly OriginMatcher _origins;
    private readonly bool _credentials;
    private readonly bool _anyMethod;
    private readonly bool _anyHeader;
    private readonly bool _privateNetwork;
    private readonly byte[]? _exposeHeaders;
    private readonly PolicyAnswer _preflight;
    private readonly PolicyAnswer _refused;

    public CorsPolicy(string name, CorsOptions options)
    {
        Name = name;
        _anyOrigin = options.AnyOrigin;
        _origins = new OriginMatcher(options.Origins);
        _credentials = options.Credentials;
        _anyMethod = options.AnyMethod;
        _anyHeader = options.AnyHeader;
        _privateNetwork = options.PrivateNetwork;
        _exposeHeaders = options.ExposeHeaders.Count == 0 ? null : Encoding.ASCII.GetBytes(string.Join(", ", options.ExposeHeaders));

        // What a preflight answer says whatever the request: the origin (and echoed lists) go through the context.
        var fixedLines = new List<KeyValuePair<string, string>>();
        if (!_anyMethod && options.Methods.Count > 0) fixedLines.Add(new("Access-Control-Allow-Methods", string.Join(", ", options.Methods)));
        if (!_anyHeader && options.Headers.Count > 0) fixedLines.Add(new("Access-Control-Allow-Headers", string.Join(", ", options.Headers)));
        if (options.MaxAge is { } maxAge) fixedLines.Add(new("Access-Control-Max-Age", ((long)maxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture)));
        // The answer differs by what was asked: a cache between must not give one origin's (or method's) answer to another.
        var vary = "Access-Control-Request-Method, Access-Control-Request-Headers" + (_privateNetwork ? ", Access-Control-Request-Private-Network" : "");
        fixedLines.Add(new("Vary", _anyOrigin ? vary : "Origin, " + vary));
        _preflight = new PolicyAnswer(204, RejectionCounter.For(name, "cors", "preflight"), fixedLines);
        _refused = new PolicyAnswer(403, RejectionCounter.For(name, "cors", "origin_not_allowed"),
            [new("Vary", "Origin, " + vary)], body: "403 Forbidden (CORS: origin not allowed)\n");
    }

    public string Name { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        int originIndex = context.FindHeader("origin"u8);
        if (originIndex < 0)
        {
            // Not a cross-origin request; its response still differs from one to an allowed origin (a cache must know).
            if (!_anyOrigin) context.AddResponseHeader("Vary"u8, "Origin"u8);
            return default;
        }
        var origin = context.HeaderValue(originIndex);
        bool allowed = _anyOrigin || _origins.Matches(origin);
        int requestMethod = context.Method == HttpMethod.Options ? context.FindHeader("access-control-request-method"u8) : -1;
        if (requestMethod >= 0)
        {
            if (!allowed) return new ValueTask<PolicyAnswer?>(_refused);
            AllowOrigin(context, origin);
            var method = context.HeaderValue(requestMethod);
            if (_anyMethod && IsToken(method)) context.AddResponseHeader("Access-Control-Allow-Methods"u8, method);
            if (_anyHeader && context.TryGetHeader("access-control-request-headers"u8, out var requested) && IsTokenList(requested))
            {
                context.AddResponseHeader("Access-Control-Allow-Headers"u8, requested);
            }
            if (_privateNetwork && context.TryGetHeader("access-control-request-private-network"u8, out var pna)
                && Ascii.EqualsIgnoreCase(pna.Trim(" \t"u8), "true"u8))
            {
                context.AddResponseHeader("Access-Control-Allow-Private-Network"u8, "true"u8);
            }
            return new ValueTask<PolicyAnswer?>(_preflight);
        }
        if (!_anyOrigin) context.AddResponseHeader("Vary"u8, "Origin"u8);
        if (allowed)
        {
            AllowOrigin(context, origin);
            if (_exposeHeaders is not null) context.AddResponseHeader("Access-Control-Expose-Headers"u8, _exposeHeaders);
        }
        return default;
    }

    private void AllowOrigin(PolicyContext context, ReadOnlySpan<byte> origin)
    {
        // "*" only when any origin is allowed without credentials (check refuses "*" with credentials); otherwise the
        // origin itself, as the browser sent it: Fetch compares the two byte for byte.
        context.AddResponseHeader("Access-Control-Allow-Origin"u8, _anyOrigin && !_credentials ? "*"u8 : origin);
        if (_credentials) context.AddResponseHeader("Access-Control-Allow-Credentials"u8, "true"u8);
    }

    /// <summary>An RFC 9110 token: what a method is.</summary>
    private static bool IsToken(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty) return false;
        foreach (var b in text)
        {
            if (!IsTokenChar(b)) return false;
        }
        return true;
    }

    /// <summary>Tokens separated by commas and optional whitespace: what Access-Control-Request-Headers holds, and nothing more is echoed.</summary>
    private static bool IsTokenList(ReadOnlySpan<byte> text)
    {
        bool any = false;
        foreach (var b in text)
        {
            if (IsTokenChar(b)) any = true;
            else if (b is not ((byte)',' or (byte)' ' or (byte)'\t')) return false;
        }
        return any;
    }

    private static bool IsTokenChar(byte b) => b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
        or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'.'
        or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
