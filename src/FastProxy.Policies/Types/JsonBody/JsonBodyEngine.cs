using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;
using Microsoft.Extensions.Logging;

namespace FastProxy.Policies.Types.JsonBody;

/// <summary>Why a JSON body was left as it came (or refused), for the counters and the x-json-transform field.</summary>
public enum JsonBodySkip : byte
{
    /// <summary>Over max_size (as received, or once decoded).</summary>
    Oversize = 0,
    /// <summary>A Content-Encoding the proxy does not decode (zstd, compress, a list of codings).</summary>
    Encoded,
    /// <summary>Not JSON, or a compressed body that does not decode.</summary>
    Invalid,
}

/// <summary>
/// Process-wide counts of the json_body policies (exported as fastproxy_json_body_transformed_total{side} and
/// fastproxy_json_body_skipped_total{side,reason}). Plain Interlocked longs: read them with <see cref="Transformed"/> and <see cref="Skipped"/>.
/// </summary>
public static class JsonBodyStats
{
    private static readonly long[] s_transformed = new long[2];
    private static readonly long[] s_skipped = new long[6];

    /// <summary>Bodies rewritten; <paramref name="response"/>: on the response side.</summary>
    public static long Transformed(bool response) => Volatile.Read(ref s_transformed[response ? 1 : 0]);

    /// <summary>Bodies left as they came (or refused, for <see cref="JsonBodySkip.Oversize"/> with oversize = "refuse") for <paramref name="reason"/>.</summary>
    public static long Skipped(bool response, JsonBodySkip reason) => Volatile.Read(ref s_skipped[(response ? 3 : 0) + (int)reason]);

    internal static void CountTransformed(bool response) => Interlocked.Increment(ref s_transformed[response ? 1 : 0]);
    internal static void CountSkipped(bool response, JsonBodySkip reason) => Interlocked.Increment(ref s_skipped[(response ? 3 : 0) + (int)reason]);
}

internal static partial class JsonBodyLog
{
    [LoggerMessage(1701, LogLevel.Warning, "policy \"{Policy}\": a {Side} body over max_size ({MaxSize} bytes) was {What}; later ones are only counted (fastproxy_json_body_skipped_total)")]
    public static partial void Oversize(ILogger logger, string policy, string side, long maxSize, string what);
}

/// <summary>
/// The work of one json_body policy, shared by both sides: which bodies qualify (a JSON media type, a coding it can
/// decode, within max_size), decoding, the transform, and what is said when a body is skipped.
/// </summary>
internal sealed partial class JsonBodyEngine
{
    /// <summary>Response field telling the client a response body was left as it came, and why.</summary>
    public static readonly byte[] MarkerName = "x-json-transform"u8.ToArray();
    private static readonly byte[][] s_markers =
    [
        "skipped-oversize"u8.ToArray(),
        "skipped-encoded"u8.ToArray(),
        "skipped-invalid"u8.ToArray(),
    ];

    private readonly ILogger _logger;
    private int _oversizeLogged;

    public JsonBodyEngine(string name, JsonBodyOptions options, ILogger logger)
    {
        Name = name;
        MaxSize = options.MaxSize;
        Refuse = options.Oversize == JsonOversize.Refuse;
        Request = JsonEditTree.Build(options.Request);
        Response = JsonEditTree.Build(options.Response);
        _logger = logger;
        RequestTooLarge = Problem(name, 413, "too-large", "Content Too Large", $"the request body is larger than {options.MaxSize} bytes (json_body max_size)");
        _invalid = Problem(name, 400, "invalid-json", "Bad Request", "the request body is not valid JSON");
        _encoded = Problem(name, 415, "unsupported-encoding", "Unsupported Media Type", "the request body's Content-Encoding is not one the proxy decodes (gzip, deflate, br)");
    }

    public string Name { get; }
    public long MaxSize { get; }
    public bool Refuse { get; }
    public JsonEditTree? Request { get; }
    public JsonEditTree? Response { get; }

    /// <summary>application/json, or any type with a +json suffix (RFC 6839), whatever the parameters.</summary>
    public static bool IsJson(ReadOnlySpan<byte> contentType)
    {
        int semi = contentType.IndexOf((byte)';');
        var type = (semi < 0 ? contentType : contentType[..semi]).Trim(" \t"u8);
        if (Ascii.EqualsIgnoreCase(type, "application/json"u8)) return true;
        int slash = type.IndexOf((byte)'/');
        return slash > 0 && type.Length > slash + 6 && Ascii.EqualsIgnoreCase(type[^5..], "+json"u8);
    }

    public void Skipped(PolicyContext context, bool response, JsonBodySkip reason)
    {
        JsonBodyStats.CountSkipped(response, reason);
        if (response) context.AddResponseHeader(MarkerName, s_markers[(int)reason]);
        if (reason == JsonBodySkip.Oversize && Interlocked.Exchange(ref _oversizeLogged, 1) == 0)
        {
            JsonBodyLog.Oversize(_logger, Name, response ? "response" : "request", MaxSize, Refuse ? "refused" : "passed untouched");
        }
    }

    /// <summary>
    /// Decodes (when <paramref name="coding"/> says so) and transforms <paramref name="body"/> into <paramref name="output"/>.
    /// <paramref name="scratch"/> holds the decoded body in between.
    /// </summary>
    public BodyVerdict Transform(JsonEditTree tree, PolicyContext context, Coding coding, ReadOnlyMemory<byte> body,
        PooledBufferWriter scratch, System.Buffers.IBufferWriter<byte> output)
    {
        if (coding != Coding.Identity)
        {
            var decoded = ContentCoding.Decode(coding, body, MaxSize, scratch);
            if (decoded == DecodeResult.TooLarge) return BodyVerdict.TooLarge;
            if (decoded == DecodeResult.Invalid) return BodyVerdict.Invalid;
            body = scratch.WrittenMemory;
        }
        return JsonTransformer.Transform(tree, body.Span, output, context) switch
        {
            TransformResult.Done => BodyVerdict.Transformed,
            TransformResult.NotAnObject => BodyVerdict.Unchanged,
            _ => BodyVerdict.Invalid,
        };
    }
}

internal enum BodyVerdict : byte
{
    Transformed = 0,
    /// <summary>Valid JSON with nothing to edit (its root is not an object).</summary>
    Unchanged,
    TooLarge,
    Invalid,
}
