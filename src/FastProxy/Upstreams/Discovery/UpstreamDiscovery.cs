using System.Collections.Concurrent;
using System.Net;
using FastProxy.Configuration;
using FastProxy.Configuration.Values;
using FastProxy.Diagnostics;
using FastProxy.DnsClient;
using FastProxy.Hosting;
using FastProxy.Transport;

namespace FastProxy.Upstreams.Discovery;

/// <summary>
/// Upstream discovery for the running proxy: one background loop (not a thread or timer per upstream) that, once a
/// second, looks at the serving generation's upstreams and
/// <list type="bullet">
/// <item>resolves the host names of their servers again every resolve_interval (or sooner when the DNS answer's TTL
/// is shorter: [dns] answers are not kept longer than their TTL), with [dns]'s servers or the system resolver; a name
/// that fails keeps its last good addresses (one warning when it starts failing, one line when it recovers);</item>
/// <item>re-reads a servers_file when inotify reports a change to it (FileSystemWatcher) or, as a fallback for file
/// systems without inotify, when its modification time or size changed (polled every 2 s); a file with an error is
/// refused with file:line:col and the servers in use stay.</item>
/// </list>
/// A changed list is applied to the upstream in place (<see cref="Upstream.ApplyServers"/>), like a partial reload of
/// that upstream, under the host's reload lock. All of this is off the request path.
/// </summary>
internal sealed class UpstreamDiscovery : IAsyncDisposable
{
    /// <summary>How often the loop looks (the resolution and file intervals are counted in these ticks).</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    /// <summary>The servers_file poll (for file systems where inotify says nothing: NFS, some container mounts).</summary>
    internal const long FilePollMs = 2_000;

    /// <summary>After inotify reports a change, how long to let the writer finish before reading (an in-place write comes in several events).</summary>
    private static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The system resolver's limit per name ([dns] has its own timeout).</summary>
    private static readonly TimeSpan SystemResolveTimeout = TimeSpan.FromSeconds(5);

    private readonly ProxyHost _host;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _changedFiles = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private DnsConfig? _dnsConfig;
    private NameServerClient? _dnsClient;

    private UpstreamDiscovery(ProxyHost host)
    {
        _host = host;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Whether <paramref name="config"/> has anything to discover (a host name re-resolved, or a servers_file).</summary>
    public static bool Needed(ProxyConfig config)
    {
        foreach (var upstream in config.Upstreams)
        {
            if (upstream.ServersFile is not null) return true;
            if (upstream.ResolveInterval > TimeSpan.Zero && upstream.Servers.Any(s => s.HostIsName)) return true;
        }
        return false;
    }

    public static UpstreamDiscovery Start(ProxyHost host) => new(host);

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(Tick, token).ConfigureAwait(false);
                await DiscoverAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A bug here must not end discovery for good: said, and tried again at the next tick.
                Log.ConfigWarning($"upstream discovery: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    private async Task DiscoverAsync(CancellationToken token)
    {
        var runtime = _host.Runtime;
        var config = runtime.Config;
        WatchFiles(config);
        if (!ReferenceEquals(config.Dns, _dnsConfig))
        {
            _dnsConfig = config.Dns;
            _dnsClient = config.Dns is { Servers.Count: > 0 } dns ? new NameServerClient(dns.Servers, dns.Timeout) : null;
        }
        foreach (var upstream in runtime.UpstreamList)
        {
            if (token.IsCancellationRequested) return;
            await DiscoverAsync(upstream, config, token).ConfigureAwait(false);
        }
    }

    private async Task DiscoverAsync(Upstream upstream, ProxyConfig config, CancellationToken token)
    {
        var state = upstream.Discovery;
        var declared = upstream.Declared;
        var sources = new List<string>(2);
        long now = Heartbeat.NowMs;

        if (upstream.Config.ServersFile is { } file)
        {
            bool notified = _changedFiles.TryRemove(file, out _);
            if (notified || now >= state.FileCheckDueMs)
            {
                state.FileCheckDueMs = now + FilePollMs;
                var stamp = Stamp(file);
                if (notified || stamp != state.FileStamp)
                {
                    if (notified) await Task.Delay(SettleDelay, token).ConfigureAwait(false);
                    // Stamped before reading: a write during the read shows as a new stamp at the next poll.
                    state.FileStamp = Stamp(file);
                    var (servers, errors) = Configuration.Validation.ServersFile.Read(file, config.Dns);
                    if (servers is null)
                    {
                        var problems = string.Join("; ", errors.Select(e => e.ToString()));
                        if (problems != state.Refusal) Log.ServersFileRefused(upstream.Name, problems);
                        state.Refusal = problems;
                    }
                    else
                    {
                        if (state.Refusal is not null) Log.ServersFileAccepted(upstream.Name, file);
                        state.Refusal = null;
                        state.Learn(servers);
                        declared = servers;
                        sources.Add("servers_file");
                    }
                }
            }
        }

        var interval = upstream.Config.ResolveInterval;
        if (interval > TimeSpan.Zero && now >= state.NextResolveMs)
        {
            var next = interval;
            foreach (var host in declared.Where(s => s.HostIsName).Select(s => s.Host).Distinct(StringComparer.OrdinalIgnoreCase).ToList())
            {
                var ttl = await ResolveAsync(upstream.Name, host, state, token).ConfigureAwait(false);
                if (ttl < next) next = ttl;
            }
            // Not sooner than a second (a TTL of 0 would otherwise ask at every tick), nor later than resolve_interval.
            state.NextResolveMs = Heartbeat.NowMs + (long)Math.Max(next.TotalMilliseconds, Tick.TotalMilliseconds);
            sources.Add("dns");
        }
        if (sources.Count == 0) return;

        var expanded = ServerSet.Expand(declared, state.AddressesOf);
        if (expanded.Count == 0) return; // nothing resolved yet: keep what serves
        _host.ApplyDiscovered(upstream, declared, expanded, string.Join(", ", sources));
    }

    /// <summary>Resolves <paramref name="host"/> and records it; returns how long the answer may be kept (resolve_interval when unknown).</summary>
    private async Task<TimeSpan> ResolveAsync(string upstream, string host, DiscoveryState state, CancellationToken token)
    {
        var known = state.Name(host);
        try
        {
            IReadOnlyList<IPAddress> addresses;
            var ttl = TimeSpan.MaxValue;
            if (_dnsClient is { } client)
            {
                var answer = await client.ResolveAsync(host, token).ConfigureAwait(false);
                addresses = ServerAddresses.Preferred([.. answer.IPv4, .. answer.IPv6]);
                ttl = answer.Ttl;
            }
            else
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                timeout.CancelAfter(SystemResolveTimeout);
                addresses = ServerAddresses.Preferred(await Dns.GetHostAddressesAsync(host, timeout.Token).ConfigureAwait(false));
            }
            if (addresses.Count == 0) throw new NameResolutionException("no addresses");
            if (known is null) return ttl;
            if (known.Failing) Log.ResolveRecovered(upstream, host, addresses.Count);
            known.Failing = false;
            known.Addresses = addresses;
            return ttl;
        }
        catch (Exception ex) when (!token.IsCancellationRequested && ex is NameResolutionException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            if (known is not null && !known.Failing)
            {
                known.Failing = true;
                Log.ResolveFailed(upstream, host, ex is OperationCanceledException ? "timed out" : ex.Message, known.Addresses.Count);
            }
            return TimeSpan.MaxValue;
        }
    }

    private static (DateTime, long)? Stamp(string file)
    {
        try
        {
            var info = new FileInfo(file);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>One inotify watch per servers_file's directory in use; watches of files no longer used are dropped.</summary>
    private void WatchFiles(ProxyConfig config)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var upstream in config.Upstreams)
            if (upstream.ServersFile is { } file) wanted.Add(file);
        foreach (var file in _watchers.Keys.Where(f => !wanted.Contains(f)).ToList())
        {
            _watchers.Remove(file, out var watcher);
            watcher!.Dispose();
        }
        foreach (var file in wanted)
        {
            if (_watchers.ContainsKey(file)) continue;
            try
            {
                // The directory, not the file: an atomic replace (write elsewhere, rename over) is a new inode.
                var watcher = new FileSystemWatcher(Path.GetDirectoryName(file)!)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                };
                FileSystemEventHandler changed = (_, e) => Changed(file, e.FullPath);
                watcher.Changed += changed;
                watcher.Created += changed;
                watcher.Deleted += changed;
                watcher.Renamed += (_, e) => { Changed(file, e.FullPath); Changed(file, e.OldFullPath); };
                watcher.EnableRaisingEvents = true;
                _watchers[file] = watcher;
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                Log.WatchFailed(file, ex.Message);
                // Remembered as watched, so the failure is said once: the poll covers it.
                _watchers[file] = new FileSystemWatcher();
            }
        }
    }

    private void Changed(string file, string path)
    {
        if (!string.Equals(file, path, StringComparison.Ordinal)) return;
        _changedFiles[file] = true;
        try { _wake.Release(); } catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        foreach (var watcher in _watchers.Values) watcher.Dispose();
        _watchers.Clear();
    }
}
