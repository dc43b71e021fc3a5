using System.Text;

namespace FastProxy.Tcp;

/// <summary>A [[routes]] entry of a tcp listener: a TLS server name pattern and where its connections go.</summary>
internal sealed class SniRoute
{
    private readonly byte[]? _exact;
    /// <summary>"*.example.com" is kept as ".example.com": the name must end with it and have a label before it.</summary>
    private readonly byte[]? _suffix;

    /// <param name="pattern">Lower-cased by the config loader: exact ("a.example.com") or wildcard ("*.example.com").</param>
    public SniRoute(string name, string pattern, TcpUpstream upstream)
    {
        Name = name;
        Upstream = upstream;
        if (pattern.StartsWith("*.", StringComparison.Ordinal)) _suffix = Encoding.ASCII.GetBytes(pattern[1..]);
        else _exact = Encoding.ASCII.GetBytes(pattern);
    }

    public string Name { get; }
    public TcpUpstream Upstream { get; }

    /// <summary>
    /// Case-insensitive (RFC 6066 §3 names are DNS names). A wildcard matches any name that ends with its suffix,
    /// one label or several ("a.b.example.com" matches "*.example.com"), as route hosts do on http listeners.
    /// </summary>
    public bool Matches(ReadOnlySpan<byte> serverName)
    {
        if (_exact is not null) return Ascii.EqualsIgnoreCase(serverName, _exact);
        return serverName.Length > _suffix!.Length && Ascii.EqualsIgnoreCase(serverName[^_suffix.Length..], _suffix);
    }
}

/// <summary>The SNI routes of one tcp listener, in file order: the first that matches wins.</summary>
internal sealed class SniRouter(SniRoute[] routes)
{
    public IReadOnlyList<SniRoute> Routes => routes;

    /// <summary>The route for <paramref name="serverName"/>, or null (no route matches, or the client sent no name).</summary>
    public SniRoute? Match(ReadOnlySpan<byte> serverName)
    {
        if (serverName.IsEmpty) return null;
        foreach (var route in routes)
        {
            if (route.Matches(serverName)) return route;
        }
        return null;
    }
}
