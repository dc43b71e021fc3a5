using System.Text;
using FastProxy.Configuration;
using FastProxy.Forwarding;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;
using FastProxy.Upstreams;

namespace FastProxy.Routing;

/// <summary>
/// A [[routes]] entry compiled for matching: every condition is bytes, compared against the request head's bytes
/// without decoding or allocating. All given conditions must hold; none given matches everything.
/// </summary>
internal sealed class Route
{
    private readonly byte[]? _hostExact;
    /// <summary>"*.example.com" is kept as ".example.com": the host must end with it and have a label before it.</summary>
    private readonly byte[]? _hostSuffix;
    /// <summary>MatchConfig.WildcardOneLabel (Ingress hosts): the label before <see cref="_hostSuffix"/> has no dot.</summary>
    private readonly bool _wildcardOneLabel;
    private readonly byte[]? _path;
    private readonly byte[]? _pathPrefix;
    private readonly byte[][]? _methods;
    private readonly (byte[] Name, byte[] Value)[] _headers;
    private readonly System.Text.RegularExpressions.Regex? _pathRegex;
    private readonly (byte[] Name, byte[] Value)[] _query;

    public Route(RouteConfig config, Upstream? upstream, PolicyChain? policies = null)
    {
        Name = config.Name;
        Policies = policies;
        Upstream = upstream;
        if (config.Respond is not null) Respond = new CannedResponse(config.Respond);
        if (config.StripPrefix is not null) StripPrefix = Encoding.UTF8.GetBytes(config.StripPrefix);
        GrpcWeb = config.GrpcWeb;
        // A static route maps the path under its root without the prefix that routed it: strip_prefix, else path_prefix.
        if (config.Static is not null) Static = new StaticFiles.StaticSite(config.Static, config.StripPrefix ?? config.Match.PathPrefix);

        var match = config.Match;
        if (match.Host is not null)
        {
            if (match.Host.StartsWith("*.", StringComparison.Ordinal)) _hostSuffix = Encoding.ASCII.GetBytes(match.Host[1..]);
            else _hostExact = Encoding.ASCII.GetBytes(match.Host);
            _wildcardOneLabel = match.WildcardOneLabel;
        }
        if (match.Path is not null) _path = Encoding.UTF8.GetBytes(match.Path);
        if (match.PathPrefix is not null) _pathPrefix = Encoding.UTF8.GetBytes(match.PathPrefix);
        _pathRegex = match.PathRegex;
        _query = new (byte[], byte[])[match.Query.Count];
        for (int i = 0; i < _query.Length; i++)
        {
            _query[i] = (Encoding.UTF8.GetBytes(match.Query[i].Key), Encoding.UTF8.GetBytes(match.Query[i].Value));
        }
        if (match.Methods is not null)
        {
            _methods = new byte[match.Methods.Count][];
            for (int i = 0; i < _methods.Length; i++) _methods[i] = Encoding.ASCII.GetBytes(match.Methods[i]);
        }
        _headers = new (byte[], byte[])[match.Headers.Count];
        for (int i = 0; i < _headers.Length; i++)
        {
            _headers[i] = (Encoding.ASCII.GetBytes(match.Headers[i].Key), Encoding.UTF8.GetBytes(match.Headers[i].Value));
        }
    }

    /// <summary>The same route with another upstream, for a policy that picks it (version); built at load.</summary>
    private Route(Route route, Upstream upstream)
    {
        Name = route.Name;
        Policies = route.Policies;
        Upstream = upstream;
        StripPrefix = route.StripPrefix;
        _hostExact = route._hostExact;
        _hostSuffix = route._hostSuffix;
        _wildcardOneLabel = route._wildcardOneLabel;
        _path = route._path;
        _pathPrefix = route._pathPrefix;
        _methods = route._methods;
        _headers = route._headers;
        _pathRegex = route._pathRegex;
        _query = route._query;
        GrpcWeb = route.GrpcWeb;
    }

    /// <summary>
    /// This route as it forwards to each upstream of the configuration (by index in [upstreams] file order), when its chain
    /// has a policy that picks the upstream; null otherwise (the route pays nothing).
    /// </summary>
    private Route?[]? _alternates;

    /// <summary>Prepares <see cref="For"/> (at load, before serving): one route per upstream a policy may pick.</summary>
    public void AddAlternates(IReadOnlyList<Upstream> upstreamsInFileOrder)
    {
        var alternates = new Route?[upstreamsInFileOrder.Count];
        for (int i = 0; i < alternates.Length; i++)
        {
            var upstream = upstreamsInFileOrder[i];
            // Only http upstreams serve requests (tcp upstreams are for L4 listeners; the check refuses naming them).
            alternates[i] = ReferenceEquals(upstream, Upstream) ? this : new Route(this, upstream);
        }
        _alternates = alternates;
    }

    /// <summary>The alternate routes (for metrics), empty when none.</summary>
    public IEnumerable<Route> Alternates
    {
        get
        {
            foreach (var r in _alternates ?? [])
            {
                if (r is not null && !ReferenceEquals(r, this)) yield return r;
            }
        }
    }

    /// <summary>The route to forward with when a policy picked upstream <paramref name="index"/> (-1: none picked, this one).</summary>
    public Route For(int index)
    {
        var alternates = _alternates;
        return index >= 0 && alternates is not null && (uint)index < (uint)alternates.Length && alternates[index] is { } picked ? picked : this;
    }

    public string Name { get; }

    /// <summary>
    /// Set for routes that forward; at most one of <see cref="Upstream"/> and <see cref="Respond"/> is set (neither: the
    /// chain always answers or picks the upstream, see <see cref="For"/>).
    /// </summary>
    public Upstream? Upstream { get; }

    public CannedResponse? Respond { get; }

    /// <summary>The listener's policies then the route's, compiled; null when there are none (the route pays nothing).</summary>
    public PolicyChain? Policies { get; }

    /// <summary>This route's request counts on its listener; null while metrics are off. Set at bind, before serving.</summary>
    public Observability.Metrics.RequestSeries? Metrics { get; set; }

    /// <summary>Removed from the front of the path before forwarding.</summary>
    public byte[]? StripPrefix { get; }

    /// <summary>static = { root = ... }: the route answers from files (StaticFiles/, Forwarding/Http1Connection.Static.cs).</summary>
    public StaticFiles.StaticSite? Static { get; }

    /// <summary>grpc_web = true: gRPC-Web requests are converted to gRPC (Forwarding/Http1Connection.GrpcWeb.cs).</summary>
    public bool GrpcWeb { get; }

    public bool Matches(RequestHead request, ReadOnlySpan<byte> head)
    {
        if (_hostExact is not null || _hostSuffix is not null)
        {
            var host = request.HostName(head);
            // "example.com." is the same name as "example.com" (the root label), as nginx treats it.
            if (host.Length > 1 && host[^1] == (byte)'.') host = host[..^1];
            if (_hostExact is not null)
            {
                if (!Ascii.EqualsIgnoreCase(host, _hostExact)) return false;
            }
            else if (host.Length <= _hostSuffix!.Length || !Ascii.EqualsIgnoreCase(host[^_hostSuffix.Length..], _hostSuffix))
            {
                return false;
            }
            else if (_wildcardOneLabel && host[..^_hostSuffix.Length].Contains((byte)'.'))
            {
                return false;
            }
        }

        if (_path is not null && !request.Path(head).SequenceEqual(_path)) return false;
        if (_pathPrefix is not null && !request.Path(head).StartsWith(_pathPrefix)) return false;
        if (_pathRegex is not null && !RouteMatching.PathMatches(_pathRegex, request.Path(head))) return false;
        foreach (var (name, value) in _query)
        {
            if (!RouteMatching.HasQueryParameter(request.PathAndQuery(head)[request.PathLength..], name, value)) return false;
        }

        if (_methods is not null)
        {
            var method = request.MethodBytes(head);
            bool any = false;
            foreach (var m in _methods)
            {
                if (method.SequenceEqual(m)) { any = true; break; }
            }
            if (!any) return false;
        }

        foreach (var (name, value) in _headers)
        {
            if (!HasHeader(request, head, name, value)) return false;
        }
        return true;
    }

    private static bool HasHeader(RequestHead request, ReadOnlySpan<byte> head, byte[] name, byte[] value)
    {
        foreach (var field in request.Fields)
        {
            if (field.NameLength == name.Length && Ascii.EqualsIgnoreCase(field.Name(head), name) && field.Value(head).SequenceEqual(value))
            {
                return true;
            }
        }
        return false;
    }
}
