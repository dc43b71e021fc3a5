namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "compress": responses compressed on the way to the client (gzip, Brotli, zstd), negotiated from
/// the request's Accept-Encoding, streamed and flushed when the upstream pauses.
/// </summary>
public sealed class CompressOptions : PolicyOptions
{
    public const long DefaultMinSize = 1024;
    public const int DefaultGzipLevel = 6;
    public const int DefaultBrotliLevel = 4;
    /// <summary>zstd's own default level (the zstd CLI's, Envoy's and Caddy's): about gzip -6's ratio at a fraction of its CPU.</summary>
    public const int DefaultZstdLevel = 3;

    /// <summary>The media types compressed by default ("type/*" matches a whole top-level type).</summary>
    public static readonly IReadOnlyList<string> DefaultTypes =
    [
        "text/*", "application/json", "application/javascript", "application/xml", "application/xhtml+xml",
        "application/rss+xml", "application/atom+xml", "application/ld+json", "application/manifest+json",
        "application/problem+json", "application/problem+xml", "application/x-javascript", "application/wasm",
        "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "font/ttf", "font/otf",
    ];

    /// <summary>The encodings offered, the server's preference first (it decides between codings the client weighs equally).</summary>
    public IReadOnlyList<CompressEncoding> Encodings { get; init; } = [CompressEncoding.Brotli, CompressEncoding.Gzip];

    /// <summary>A response whose Content-Length is smaller than this is sent as it is (an unknown length is compressed).</summary>
    public long MinSize { get; init; } = DefaultMinSize;

    /// <summary>Media types compressed, lower case: "type/subtype" or "type/*".</summary>
    public IReadOnlyList<string> Types { get; init; } = DefaultTypes;

    /// <summary>zlib level for gzip, 1 (fastest) to 9 (smallest).</summary>
    public int GzipLevel { get; init; } = DefaultGzipLevel;

    /// <summary>Brotli quality, 0 (fastest) to 11 (smallest).</summary>
    public int BrotliLevel { get; init; } = DefaultBrotliLevel;

    /// <summary>zstd level, 1 (fastest) to 19 (smallest).</summary>
    public int ZstdLevel { get; init; } = DefaultZstdLevel;
}

public enum CompressEncoding : byte
{
    Gzip = 0,
    Brotli,
    /// <summary>Zstandard (RFC 8878, "zstd"), with ZstdSharp (managed, native AOT clean).</summary>
    Zstd,
}
