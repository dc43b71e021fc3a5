using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "compress": <c>encodings</c> (of "zstd", "br", "gzip"; the server's order of preference, which decides
/// between codings the client weighs equally), <c>min_size</c>,
/// <c>types</c> ("type/subtype" or "type/*"), <c>level</c> (one number for every encoding, or a table per encoding).
/// What is never compressed (already encoded, ranges, event streams, gRPC, no-transform) is not configurable.
/// </summary>
internal sealed class CompressPolicyType : IPolicyType
{
    public string Name => "compress";

    public IReadOnlyList<string> Keys { get; } = ["encodings", "min_size", "types", "level"];

    private static readonly string[] LevelKeys = ["gzip", "br", "zstd"];

    public PolicyOptions? Read(TableReader policy)
    {
        var context = policy.Context;
        var encodings = new List<CompressEncoding>();
        var listed = policy.Strings("encodings");
        if (listed is not null)
        {
            foreach (var (text, path) in listed)
            {
                CompressEncoding? encoding = text switch
                {
                    "gzip" => CompressEncoding.Gzip,
                    "br" => CompressEncoding.Brotli,
                    "zstd" => CompressEncoding.Zstd,
                    _ => null,
                };
                if (encoding is null)
                {
                    context.Error(path, $"unknown encoding \"{text}\" (known: \"zstd\", \"br\", \"gzip\")");
                    continue;
                }
                if (encodings.Contains(encoding.Value))
                {
                    context.Error(path, $"\"{text}\" is listed twice");
                    continue;
                }
                encodings.Add(encoding.Value);
            }
            if (listed.Count == 0) policy.Error("encodings", "must list at least one encoding (\"zstd\", \"br\", \"gzip\")");
        }

        long minSize = policy.Size("min_size", int.MaxValue, allowZero: true) ?? CompressOptions.DefaultMinSize;

        List<string>? types = null;
        var typeList = policy.Strings("types");
        if (typeList is not null)
        {
            types = [];
            foreach (var (text, path) in typeList)
            {
                var type = text.Trim().ToLowerInvariant();
                int slash = type.IndexOf('/');
                if (slash <= 0 || slash == type.Length - 1 || type.IndexOf('/', slash + 1) >= 0 || type.Contains(';') || type.Contains(' ')
                    || (type.Contains('*') && !type.EndsWith("/*", StringComparison.Ordinal)) || type.StartsWith('*'))
                {
                    context.Error(path, $"\"{text}\" is not a media type: expected \"type/subtype\" or \"type/*\" (no parameters)");
                    continue;
                }
                if (type is "text/event-stream" || type.StartsWith("application/grpc", StringComparison.Ordinal))
                {
                    context.Error(path, $"\"{text}\" is never compressed (server-sent events and gRPC must stream as they are)");
                    continue;
                }
                types.Add(type);
            }
            if (typeList.Count == 0) policy.Error("types", "must list at least one media type");
        }

        int gzip = CompressOptions.DefaultGzipLevel, brotli = CompressOptions.DefaultBrotliLevel, zstd = CompressOptions.DefaultZstdLevel;
        var rawLevel = policy.Raw("level");
        if (rawLevel is long)
        {
            // One number for every encoding: gzip's scale (1-9), used as is for Brotli and zstd too (their 1-9 are their
            // fast halves).
            if (policy.Int("level", 1, 9) is { } level) gzip = brotli = zstd = level;
        }
        else if (rawLevel is not null)
        {
            var table = policy.Table("level", LevelKeys);
            if (table is not null)
            {
                gzip = table.Int("gzip", 1, 9) ?? gzip;
                brotli = table.Int("br", 0, 11) ?? brotli;
                // 20-22 are zstd's "ultra" levels: windows of 32 MiB and more, past what browsers decode (RFC 9659: 8 MiB).
                zstd = table.Int("zstd", 1, 19) ?? zstd;
            }
        }

        return new CompressOptions
        {
            Encodings = listed is null ? new CompressOptions().Encodings : encodings,
            MinSize = minSize,
            Types = types ?? CompressOptions.DefaultTypes,
            GzipLevel = gzip,
            BrotliLevel = brotli,
            ZstdLevel = zstd,
        };
    }
}
