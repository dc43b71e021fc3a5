namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "compress": responses compressed on the way to the client (gzip, Brotli), negotiated from
/// the request's Accept-Encoding, streamed and flushed when the upstream pauses.
/// </summary>
public sealed class CompressOptions : PolicyOptions
{
    public const long DefaultMinSize = 1024;
    public const int DefaultGzipLevel = 6;
    public const int DefaultBrotliLevel = 4;

    /// <summary>The media types compressed by default ("type/*" matches a whole top-level type).</summary>
    public static readonly IReadOnlyList<string> DefaultTypes =
    [
        "text/*", "application/json", "application/javascript", "application/xml", "application/xhtml+xml",
        "application/rss+xml", "application/atom+xml", "application/ld+json", "application/manifest+json",
        "application/problem+json", "application/problem+xml", "application/x-javascript", "application/wasm",
        "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "font/ttf", "font/otf",
    ];

    /// <summary>The encodings offered, the server's preference first.</summary>
    public IReadOnlyList<CompressEncoding> Encodings { get; init; } = [CompressEncoding.Brotli, CompressEncoding.Gzip];

    /// <summary>A response whose Content-Length is smaller than this is sent as it is (an unknown length is compressed).</summary>
    public long MinSize { get; init; } = DefaultMinSize;

    /// <summary>Media types compressed, lower case: "type/subtype" or "type/*".</summary>
    public IReadOnlyList<string> Types { get; init; } = DefaultTypes;

    /// <summary>zlib level for gzip, 1 (fastest) to 9 (smallest).</summary>
    public int GzipLevel { get; init; } = DefaultGzipLevel;

    /// <summary>Brotli quality, 0 (fastest) to 11 (smallest).</summary>
    public int BrotliLevel { get; init; } = DefaultBrotliLevel;
}

public enum CompressEncoding : byte
{
    Gzip = 0,
    Brotli,
}
