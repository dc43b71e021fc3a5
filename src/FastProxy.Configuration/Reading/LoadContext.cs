using System.Net;
using System.Net.Sockets;
using FastProxy.Configuration.Toml;

namespace FastProxy.Configuration.Reading;

/// <summary>What every section reader shares during one load: positions, the problem list, the config's directory, name resolution.</summary>
internal sealed class LoadContext
{
    private readonly Dictionary<string, (IPAddress[]? Addresses, string? Error)> _resolved = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConfigLoadOptions _options;

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
            var addresses = _options.Resolver.Resolve(host);
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
    }
}
