using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "cache": <c>max_size</c>, <c>max_entry_size</c>, <c>default_ttl</c>, <c>methods</c> (GET, HEAD), <c>key</c>
/// (host, path, query), <c>stale_while_revalidate</c>, <c>stale_if_error</c>, <c>per_consumer</c>, <c>lock_timeout</c>.
/// </summary>
internal sealed class CachePolicyType : IPolicyType
{
    /// <summary>The store lives in memory: beyond this is a mistake on any machine this runs on.</summary>
    public const long MaxSizeLimit = 64L * 1024 * 1024 * 1024;
    /// <summary>An entry is one array: bounded by what an array holds.</summary>
    public const long MaxEntryLimit = 1L << 30;

    public string Name => "cache";

    public IReadOnlyList<string> Keys { get; } =
        ["max_size", "max_entry_size", "default_ttl", "methods", "key", "stale_while_revalidate", "stale_if_error", "per_consumer", "lock_timeout"];

    public PolicyOptions? Read(TableReader policy)
    {
        var maxSize = policy.Size("max_size", MaxSizeLimit) ?? CacheOptions.DefaultMaxSize;
        var maxEntry = policy.Size("max_entry_size", MaxEntryLimit) ?? Math.Min(CacheOptions.DefaultMaxEntrySize, maxSize);
        if (maxEntry > maxSize) policy.Error("max_entry_size", $"must be at most max_size ({Values.Sizes.Format(maxSize)})");
        var ttl = policy.Duration("default_ttl", allowZero: true) ?? TimeSpan.Zero;
        var swr = policy.Duration("stale_while_revalidate", allowZero: true) ?? CacheOptions.DefaultStaleWhileRevalidate;
        var sie = policy.Duration("stale_if_error", allowZero: true) ?? CacheOptions.DefaultStaleIfError;
        var lockTimeout = policy.Duration("lock_timeout", allowZero: true) ?? CacheOptions.DefaultLockTimeout;
        var perConsumer = policy.Bool("per_consumer") ?? true;

        bool get = true, head = true;
        if (policy.Strings("methods") is { } methods)
        {
            get = head = false;
            foreach (var (method, path) in methods)
            {
                switch (method)
                {
                    case "GET": get = true; break;
                    case "HEAD": head = true; break;
                    default:
                        policy.Context.Error(path, $"\"{method}\" cannot be served from a cache: only \"GET\" and \"HEAD\" (RFC 9111 stores GET responses; HEAD is answered from them)");
                        break;
                }
            }
            if (methods.Count == 0) policy.Error("methods", "needs at least one of \"GET\", \"HEAD\"");
        }

        bool keyHost = true, keyPath = true, keyQuery = true;
        if (policy.Strings("key") is { } key)
        {
            keyHost = keyPath = keyQuery = false;
            foreach (var (part, path) in key)
            {
                switch (part)
                {
                    case "host": keyHost = true; break;
                    case "path": keyPath = true; break;
                    case "query": keyQuery = true; break;
                    default:
                        policy.Context.Error(path, $"unknown key part \"{part}\" (known: \"host\", \"path\", \"query\")");
                        break;
                }
            }
            if (!keyPath) policy.Error("key", "must include \"path\": without it every URL of a host would share one entry");
        }

        return new CacheOptions
        {
            MaxSize = maxSize,
            MaxEntrySize = maxEntry,
            DefaultTtl = ttl,
            Get = get,
            Head = head,
            KeyHost = keyHost,
            KeyPath = keyPath,
            KeyQuery = keyQuery,
            StaleWhileRevalidate = swr,
            StaleIfError = sie,
            PerConsumer = perConsumer,
            LockTimeout = lockTimeout,
        };
    }
}
