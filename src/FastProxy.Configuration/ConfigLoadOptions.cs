using FastProxy.Configuration.Values;

namespace FastProxy.Configuration;

/// <summary>What a load depends on besides the text: name resolution and the clock (certificate expiry). Tests swap them.</summary>
internal sealed class ConfigLoadOptions
{
    public static readonly ConfigLoadOptions Default = new();

    public IHostResolver Resolver { get; init; } = DnsHostResolver.Instance;

    /// <summary>Null: the real clock.</summary>
    public DateTimeOffset? Now { get; init; }
}
