using System.Buffers;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.JsonBody;

/// <summary>
/// type = "json_body": adds, removes and renames members of JSON request and response bodies (application/json and
/// +json types), each read whole up to max_size and rewritten in one streaming pass (<see cref="JsonTransformer"/>).
/// gzip, deflate and br bodies are decoded first and sent on in identity coding; other codings are left alone and
/// said so (x-json-transform: skipped-encoded on a response), never silently. A policy with no response edits is
/// <see cref="RequestJsonBodyPolicy"/>, so its chain has no response work.
/// </summary>
internal sealed class JsonBodyPolicy : IPolicy, IResponseBodyPolicy
{
    private static readonly byte[] s_etag = "etag"u8.ToArray();
    private static readonly byte[] s_contentEncoding = "content-encoding"u8.ToArray();

    private readonly JsonBodyEngine _engine;
    private readonly JsonEditTree _response;

    private JsonBodyPolicy(JsonBodyEngine engine)
    {
        _engine = engine;
        _response = engine.Response!;
    }

    public static IPolicy Create(string name, JsonBodyOptions options, PolicyBuildContext context)
    {
        var engine = new JsonBodyEngine(name, options, context.Logger);
        return engine.Response is null ? new RequestJsonBodyPolicy(engine) : new JsonBodyPolicy(engine);
    }

    public string Name => _engine.Name;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;

    public long WantsResponseBody(PolicyContext context, ResponseView response, long bodyLength)
    {
        // 206: a range of a document is not a document.
        if (response.Status is < 200 or 206 || bodyLength == 0) return 0;
        if (!response.TryGetHeader("content-type"u8, out var type) || !JsonBodyEngine.IsJson(type)) return 0;
        if (ResponseCoding(response) == Coding.Unknown)
        {
            _engine.Skipped(context, response: true, JsonBodySkip.Encoded);
            return 0;
        }
        if (bodyLength > _engine.MaxSize)
        {
            _engine.Skipped(context, response: true, JsonBodySkip.Oversize);
            return _engine.Refuse ? -1 : 0;
        }
        return _engine.MaxSize;
    }

    public ResponseBodyOutcome OnResponseBody(PolicyContext context, ResponseView response, ReadOnlyMemory<byte> body, bool tooLarge, IBufferWriter<byte> output)
    {
        var verdict = BodyVerdict.TooLarge;
        var coding = ResponseCoding(response);
        if (!tooLarge)
        {
            var scratch = t_scratch ??= new PooledBufferWriter();
            try
            {
                verdict = _engine.Transform(_response, context, coding, body, scratch, output);
            }
            finally
            {
                scratch.Release();
            }
        }
        switch (verdict)
        {
            case BodyVerdict.Transformed:
                JsonBodyStats.CountTransformed(response: true);
                // Sent in identity coding now; the upstream's validator no longer names these bytes.
                if (coding != Coding.Identity) context.RemoveResponseHeader(s_contentEncoding);
                context.RemoveResponseHeader(s_etag);
                return ResponseBodyOutcome.Replaced;
            case BodyVerdict.Unchanged:
                return ResponseBodyOutcome.Unchanged;
            case BodyVerdict.TooLarge:
                _engine.Skipped(context, response: true, JsonBodySkip.Oversize);
                return _engine.Refuse ? ResponseBodyOutcome.Refused : ResponseBodyOutcome.Unchanged;
            default:
                _engine.Skipped(context, response: true, JsonBodySkip.Invalid);
                return ResponseBodyOutcome.Unchanged;
        }
    }

    [ThreadStatic] private static PooledBufferWriter? t_scratch;

    /// <summary>The response's coding: one Content-Encoding field with one coding, else Unknown.</summary>
    private static Coding ResponseCoding(ResponseView response)
    {
        var coding = Coding.Identity;
        bool found = false;
        for (int i = 0; i < response.HeaderCount; i++)
        {
            if (!System.Text.Ascii.EqualsIgnoreCase(response.HeaderName(i), "content-encoding"u8)) continue;
            if (found) return Coding.Unknown;
            found = true;
            coding = ContentCoding.Parse(response.HeaderValue(i));
        }
        return coding;
    }
}

/// <summary>A json_body policy with request edits only: not an <see cref="IResponseBodyPolicy"/>.</summary>
internal sealed class RequestJsonBodyPolicy(JsonBodyEngine engine) : IPolicy
{
    public string Name => engine.Name;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
}
