using System.Net;
using System.Net.Sockets;
using FastProxy.Configuration.Toml;

namespace FastProxy.Configuration.Reading;

/// <summary>What every section reader shares during one load: positions, the problem list, the config's directory, name resolution.</summary>
internal sealed class LoadContext
{
    private Dictionary<string, (IPAddress[]? Addresses, string? Error)> _resolved = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConfigLoadOptions _options;
    /// <summary>[dns]'s servers, when the file names some (and no test swapped the resolver): asked instead of the system.</summary>
    private Values.IHostResolver? _nameServers;

    public LoadContext(string sourceName, string baseDirectory, SourceMap map, DiagnosticBag diagnostics, ConfigLoadOptions options)
    {
        SourceName = sourceName;
        BaseDirectory = baseDirectory;
        Map = map;
        Diagnostics = diagnostics;
        _options = options;
        Now = options.Now ?? DateTimeOffset.UtcNow;
    }

    public string SourceName { get; }
    /// <summary>Relative file names in the config are relative to the config file's directory, not the working directory.</summary>
    public string BaseDirectory { get; }
    public SourceMap Map { get; }
    public DiagnosticBag Diagnostics { get; }
    public DateTimeOffset Now { get; }

    /// <summary>A problem with the value at <paramref name="path"/>.</summary>
    public void Error(string path, string message) => Diagnostics.Error(Map.Value(path), path, message);

    /// <summary>A problem with the key itself (unknown, misplaced), pointing at where the key is written.</summary>
    public void ErrorAtKey(string path, string message) => Diagnostics.Error(Map.Key(path), path, message);

    public void Warning(string path, string message) => Diagnostics.Warning(Map.Value(path), path, message);

    /// <summary>A problem with the whole file, not one key.</summary>
    public void FileError(string message) => Diagnostics.Error(new SourceLocation(SourceName, 0, 0), "", message);

    public string FullPath(string path) => Path.GetFullPath(path, BaseDirectory);

    /// <summary>
    /// [dns] servers = [...]: host names are resolved by asking these servers (as the proxy will at run time), unless
    /// the load was given a resolver of its own (tests).
    /// </summary>
    public void UseNameServers(DnsConfig dns)
    {
        if (dns.Servers.Count == 0 || !ReferenceEquals(_options.Resolver, Values.DnsHostResolver.Instance)) return;
        _nameServers = new Values.NameServerHostResolver(dns);
    }

    /// <summary>Another file of the same load (servers_file): its own positions, the same problems, resolver and cache.</summary>
    public LoadContext For(string file, SourceMap map) => new(file, Path.GetDirectoryName(file) ?? BaseDirectory, map, Diagnostics, _options)
    {
        _resolved = _resolved,
        _nameServers = _nameServers,
    };

    /// <summary>Resolves once per host per load: the same name often appears in many upstreams.</summary>
    public IPAddress[]? Resolve(string host, out string? error)
    {
        if (!_resolved.TryGetValue(host, out var entry))
        {
            entry = ResolveNow(host);
            _resolved[host] = entry;
        }
        error = entry.Error;
        return entry.Addresses;
    }

    private (IPAddress[]?, string?) ResolveNow(string host)
    {
        try
        {
            var addresses = (_nameServers ?? _options.Resolver).Resolve(host);
            return addresses.Length == 0 ? (null, "no addresses") : (addresses, null);
        }
        catch (SocketException e)
        {
            // Our own wording: the OS text differs per platform and says nothing more useful.
            return (null, e.SocketErrorCode switch
            {
                SocketError.HostNotFound => "no such host",
                SocketError.TryAgain => "temporary DNS failure, try again",
                SocketError.NoData => "no addresses",
                _ => e.Message,
            });
        }
        catch (ArgumentException e)
        {
            return (null, e.Message);
        }
        catch (FastProxy.DnsClient.NameResolutionException e)
        {
            return (null, e.Message);
        }
    }
}
