namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "cache": a shared HTTP cache (RFC 9111) in memory, one store per policy shared by every
/// route that names it. Stores only what the response allows; serves hits without touching the upstream.
/// </summary>
public sealed class CacheOptions : PolicyOptions
{
    public const long DefaultMaxSize = 256L * 1024 * 1024;
    public const long DefaultMaxEntrySize = 1024 * 1024;
    public static readonly TimeSpan DefaultStaleWhileRevalidate = TimeSpan.FromHours(1);
    public static readonly TimeSpan DefaultStaleIfError = TimeSpan.FromHours(1);
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The whole store's bound in bytes (heads, bodies and keys counted); least recently used entries go first.</summary>
    public long MaxSize { get; init; } = DefaultMaxSize;
    /// <summary>A response whose body is larger streams through uncached.</summary>
    public long MaxEntrySize { get; init; } = DefaultMaxEntrySize;
    /// <summary>Freshness given to a heuristically cacheable response that names none; zero: only what the response allows.</summary>
    public TimeSpan DefaultTtl { get; init; } = TimeSpan.Zero;
    /// <summary>Methods answered from the store (GET and/or HEAD; HEAD is served from GET entries).</summary>
    public bool Get { get; init; } = true;
    public bool Head { get; init; } = true;
    /// <summary>What the key is made of (the request's host, path, query).</summary>
    public bool KeyHost { get; init; } = true;
    public bool KeyPath { get; init; } = true;
    public bool KeyQuery { get; init; } = true;
    /// <summary>The most a response's stale-while-revalidate is honoured for; zero: never.</summary>
    public TimeSpan StaleWhileRevalidate { get; init; } = DefaultStaleWhileRevalidate;
    /// <summary>The most a response's stale-if-error is honoured for; zero: never.</summary>
    public TimeSpan StaleIfError { get; init; } = DefaultStaleIfError;
    /// <summary>Entries are kept per consumer when an authentication policy named one.</summary>
    public bool PerConsumer { get; init; } = true;
    /// <summary>How long concurrent misses for one key wait for the first one's response (nginx proxy_cache_lock_timeout).</summary>
    public TimeSpan LockTimeout { get; init; } = DefaultLockTimeout;
}
