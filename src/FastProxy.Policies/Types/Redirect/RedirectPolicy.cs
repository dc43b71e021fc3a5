using System.Buffers;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Redirect;

/// <summary>
/// type = "redirect": answers with <c>status</c>, a Location naming the request's URL with the configured parts
/// replaced, and an empty body; nothing reaches the upstream. The Location is written into the context's response
/// lines (no allocation). The request's Host is used only when every byte of it can stand in an authority; else 400.
/// A redirect that would name the URL the request already has (scheme = "https" alone, reached over TLS) lets the
/// request go on instead of sending the client round in a loop.
/// </summary>
internal sealed class RedirectPolicy : IPolicy
{
    private const int StackLimit = 2048;

    private readonly byte[]? _scheme;
    private readonly byte[]? _host;
    private readonly byte[]? _port;
    private readonly byte[]? _path;
    private readonly bool _onlyScheme;
    private readonly PolicyAnswer _redirect;
    private readonly PolicyAnswer _badHost;

    public RedirectPolicy(string name, RedirectOptions options)
    {
        Name = name;
        _scheme = options.Scheme is null ? null : Encoding.ASCII.GetBytes(options.Scheme);
        _host = options.Host is null ? null : Encoding.ASCII.GetBytes(options.Host.ToLowerInvariant());
        bool defaultPort = options.Port is int p && (options.Scheme, p) is ("https", 443) or ("http", 80);
        _port = options.Port is int port && !defaultPort ? Encoding.ASCII.GetBytes(":" + port.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null;
        _path = options.Path is null ? null : Encoding.ASCII.GetBytes(options.Path);
        _onlyScheme = options.Scheme is not null && options.Host is null && options.Port is null && options.Path is null;
        _redirect = new PolicyAnswer(options.Status, RejectionCounter.For(name, "redirect", "redirected"), [], []);
        _badHost = new PolicyAnswer(400, RejectionCounter.For(name, "redirect", "bad_host"), body: "the request's Host cannot be redirected to\n");
        ReplacesAuthority = options.Scheme is not null || options.Host is not null || options.Port is not null;
    }

    public string Name { get; }

    /// <summary>The scheme, host or port is replaced: the request's port is not carried over (the scheme's default, or the configured one).</summary>
    private bool ReplacesAuthority { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        var requestScheme = context.Secure ? "https"u8 : "http"u8;
        if (_onlyScheme && requestScheme.SequenceEqual(_scheme)) return default;

        var authority = context.Request.Host(context.Head);
        var hostName = context.Host;
        if (_host is null && (hostName.IsEmpty || !IsAuthority(authority))) return Answer(_badHost);

        var scheme = _scheme ?? requestScheme;
        ReadOnlySpan<byte> host = _host ?? hostName;
        ReadOnlySpan<byte> port = _port ?? (ReplacesAuthority ? default : authority[hostName.Length..]);
        ReadOnlySpan<byte> target;
        if (_path is not null)
        {
            target = _path;
        }
        else
        {
            target = context.Request.PathAndQuery(context.Head);
        }
        bool slash = target.IsEmpty || target[0] != (byte)'/';
        int length = scheme.Length + 3 + host.Length + port.Length + (slash ? 1 : 0) + target.Length;
        byte[]? rented = null;
        Span<byte> location = length <= StackLimit ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length));
        int w = 0;
        Put(location, ref w, scheme);
        Put(location, ref w, "://"u8);
        Put(location, ref w, host);
        Put(location, ref w, port);
        if (slash) location[w++] = (byte)'/';
        Put(location, ref w, target);
        bool added = context.AddResponseHeader("Location"u8, location[..w]);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return Answer(added ? _redirect : _badHost);
    }

    /// <summary>The chain counts the answer.</summary>
    private static ValueTask<PolicyAnswer?> Answer(PolicyAnswer answer) => new(answer);

    /// <summary>
    /// host[:port] as an authority may be written: letters, digits, '-', '.', '_', ':' and an IPv6 literal's brackets.
    /// The parser refused CR and LF already; this keeps anything else odd ('/', '@', '?', '#', '\', spaces) out of the Location.
    /// </summary>
    internal static bool IsAuthority(ReadOnlySpan<byte> authority)
    {
        if (authority.IsEmpty) return false;
        foreach (var b in authority)
        {
            bool ok = (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)':' or (byte)'[' or (byte)']';
            if (!ok) return false;
        }
        return true;
    }

    private static void Put(Span<byte> span, ref int w, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(span[w..]);
        w += bytes.Length;
    }
}
