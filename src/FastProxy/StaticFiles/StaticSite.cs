using System.Collections.Concurrent;
using System.Text;
using FastProxy.Configuration;

namespace FastProxy.StaticFiles;

/// <summary>
/// A static route's directory: maps a request path to a file under the root and keeps what it found open for a second
/// (<see cref="ValidMs"/>), like nginx's open_file_cache: a hot file costs one dictionary lookup per request, no open,
/// no stat and no allocation; a changed file is seen within a second. Everything is decided on the file actually
/// opened: realpath(3) resolves every symbolic link before the "under the root" check, and only regular files are
/// served (no directories, FIFOs, sockets or devices).
/// </summary>
internal sealed class StaticSite
{
    /// <summary>How long an open file and its metadata are reused before being checked again.</summary>
    public const long ValidMs = 1000;

    /// <summary>At most this many paths stay open per route (descriptors); past it, files are opened per request.</summary>
    public const int MaxEntries = 1024;

    private static readonly byte[] s_brotliLines = "Content-Encoding: br\r\n"u8.ToArray();
    private static readonly byte[] s_gzipLines = "Content-Encoding: gzip\r\n"u8.ToArray();
    private static readonly byte[] s_zstdLines = "Content-Encoding: zstd\r\n"u8.ToArray();

    private readonly string _root;
    /// <summary>The root with its links resolved, and the same followed by '/': what every file's real path must start with.</summary>
    private readonly string _realRoot;
    private readonly string _realRootSlash;
    private readonly string _index;
    private readonly MimeTypes _types;
    private readonly ConcurrentDictionary<string, StaticFile> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StaticFile>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StaticSite(StaticConfig config, string? prefix)
    {
        _root = config.Root;
        _realRoot = NativeFiles.ResolvePath(config.Root) ?? config.Root;
        _realRootSlash = _realRoot.EndsWith('/') ? _realRoot : _realRoot + "/";
        _index = config.Index;
        Dotfiles = config.Dotfiles;
        Precompressed = config.Precompressed;
        _types = new MimeTypes(config.Types);
        Prefix = prefix is null ? [] : Encoding.UTF8.GetBytes(prefix);
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Removed from the front of the request path before it is mapped under the root (strip_prefix, else path_prefix).</summary>
    public byte[] Prefix { get; }

    public bool Dotfiles { get; }

    public bool Precompressed { get; }

    /// <summary>Open entries (tests).</summary>
    internal int CachedCount => _cache.Count;

    /// <summary>
    /// What <paramref name="mapped"/> (from <see cref="StaticPath.TryMap"/>) serves, or null (404). A returned entry
    /// marked <see cref="StaticFile.Owned"/> was not cached and must be closed after the response.
    /// <paramref name="fresh"/>: skip the cache (a cached entry was closed between its lookup and its use).
    /// </summary>
    public StaticFile? Find(ReadOnlySpan<char> mapped, bool fresh = false)
    {
        long now = Environment.TickCount64;
        if (_lookup.TryGetValue(mapped, out var cached) && now < cached.ExpiresAt && !fresh) return cached;
        var key = mapped.ToString();
        var opened = Open(key, now + ValidMs);
        if (fresh)
        {
            if (opened is not null) opened.Owned = true;
            return opened;
        }
        if (opened is null)
        {
            if (cached is not null && _cache.TryRemove(KeyValuePair.Create(key, cached))) cached.Close();
            return null;
        }
        if (cached is not null)
        {
            if (_cache.TryUpdate(key, opened, cached)) cached.Close();
            else opened.Owned = true;
            return opened;
        }
        if (_cache.Count >= MaxEntries) Sweep(now);
        if (_cache.Count >= MaxEntries || !_cache.TryAdd(key, opened)) opened.Owned = true;
        return opened;
    }

    /// <summary>Closes entries past their time (a full cache makes room before giving up).</summary>
    private void Sweep(long now)
    {
        foreach (var pair in _cache)
        {
            if (pair.Value.ExpiresAt <= now && _cache.TryRemove(pair)) pair.Value.Close();
        }
    }

    private StaticFile? Open(string mapped, long expiresAt)
    {
        bool directoryPath = StaticPath.IsDirectoryPath(mapped);
        string full = mapped.Length == 0 ? _root : Path.Join(_root, mapped);
        string requested;
        if (directoryPath)
        {
            if (_index.Length == 0) return null;
            requested = Path.Join(full, _index);
        }
        else
        {
            requested = full;
        }

        var kind = OpenVariant(requested, null, out var identity);
        if (kind == NativeFiles.Kind.Directory && !directoryPath) return new StaticFile { Kind = FileKind.Directory, ExpiresAt = expiresAt };
        if (identity is null) return null;
        FileVariant? brotli = null, gzip = null, zstd = null;
        if (Precompressed)
        {
            OpenVariant(requested + ".br", s_brotliLines, out brotli);
            OpenVariant(requested + ".gz", s_gzipLines, out gzip);
            OpenVariant(requested + ".zst", s_zstdLines, out zstd); // zstd's own suffix (the CLI writes x.zst)
        }
        return new StaticFile
        {
            Kind = FileKind.File,
            Identity = identity,
            Brotli = brotli,
            Gzip = gzip,
            Zstd = zstd,
            TypeLine = _types.LineFor(requested),
            ExpiresAt = expiresAt,
        };
    }

    /// <summary>Opens <paramref name="path"/> when it resolves to a regular file under the root (links followed); tells what it was.</summary>
    private NativeFiles.Kind OpenVariant(string path, byte[]? encodingLines, out FileVariant? variant)
    {
        variant = null;
        var real = NativeFiles.ResolvePath(path);
        if (real is null || !IsUnderRoot(real)) return NativeFiles.Kind.Missing;
        // A link may lead to a hidden name the request did not spell: the rule holds for the file actually served.
        if (!Dotfiles && HasHiddenSegment(real.AsSpan(Math.Min(real.Length, _realRootSlash.Length)))) return NativeFiles.Kind.Missing;
        var kind = NativeFiles.OpenFile(real, out var handle, out long size, out long mtime);
        if (kind == NativeFiles.Kind.Regular) variant = new FileVariant(handle!, size, mtime, encodingLines);
        return kind;
    }

    private bool IsUnderRoot(string real) => real == _realRoot || real.StartsWith(_realRootSlash, StringComparison.Ordinal);

    private static bool HasHiddenSegment(ReadOnlySpan<char> relative)
    {
        if (relative.Length > 0 && relative[0] == '.') return true;
        return relative.Contains("/.", StringComparison.Ordinal);
    }

    /// <summary>Closes every open file (tests; a reloaded configuration's sites are left to the finalizers).</summary>
    public void Close()
    {
        foreach (var pair in _cache)
        {
            if (_cache.TryRemove(pair)) pair.Value.Close();
        }
    }
}
