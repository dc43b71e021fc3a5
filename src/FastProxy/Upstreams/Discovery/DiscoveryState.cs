using System.Net;
using FastProxy.Configuration;

namespace FastProxy.Upstreams.Discovery;

/// <summary>
/// What discovery knows of one upstream (of one configuration generation): the last good addresses of each host name
/// its servers use, when they are due to be resolved again, and where its servers_file stood when last read. Touched
/// only by the discovery loop (and the file watcher's flag).
/// </summary>
internal sealed class DiscoveryState
{
    private readonly Dictionary<string, NameState> _names = new(StringComparer.OrdinalIgnoreCase);

    public DiscoveryState(UpstreamConfig config)
    {
        Learn(config.Servers);
        NextResolveMs = Transport.Heartbeat.NowMs + (long)config.ResolveInterval.TotalMilliseconds;
    }

    /// <summary>When the host names are resolved next (Heartbeat ms).</summary>
    public long NextResolveMs { get; set; }

    /// <summary>The servers_file's modification time and size when last read; null: not read by discovery yet.</summary>
    public (DateTime Modified, long Length)? FileStamp { get; set; }

    /// <summary>When the servers_file is polled next.</summary>
    public long FileCheckDueMs { get; set; }

    /// <summary>The problems of the servers_file version last refused (logged once per version), null when it was accepted.</summary>
    public string? Refusal { get; set; }

    public IEnumerable<string> Names => _names.Keys;

    /// <summary>Addresses resolved at the same time as a file was read (load, or servers_file re-read): the newest known.</summary>
    public void Learn(IReadOnlyList<ServerConfig> servers)
    {
        foreach (var server in servers)
        {
            if (!server.HostIsName) continue;
            if (_names.TryGetValue(server.Host, out var known)) known.Addresses = server.Resolved;
            else _names[server.Host] = new NameState { Addresses = server.Resolved };
        }
    }

    public NameState? Name(string host) => _names.GetValueOrDefault(host);

    /// <summary>A declared server's addresses now: the last good resolution of its name.</summary>
    public IReadOnlyList<IPAddress> AddressesOf(ServerConfig server)
        => _names.TryGetValue(server.Host, out var state) ? state.Addresses : server.Resolved;

    internal sealed class NameState
    {
        public required IReadOnlyList<IPAddress> Addresses { get; set; }
        /// <summary>The last resolution failed (logged once; cleared, with a line, when it resolves again).</summary>
        public bool Failing { get; set; }
    }
}
