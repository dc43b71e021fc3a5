using System.Buffers;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.JsonBody;

/// <summary>
/// type = "json_body": adds, removes and renames members of JSON request and response bodies (application/json and
/// +json types), each read whole up to max_size and rewritten in one streaming pass (<see cref="JsonTransformer"/>).
/// gzip, deflate and br bodies are decoded first and sent on in identity coding; other codings are never silently
/// passed over (a request gets 415, a response goes as it came with x-json-transform: skipped-encoded). Only the
/// sides with edits hook in: <see cref="RequestJsonBodyPolicy"/> and <see cref="ResponseJsonBodyPolicy"/> are the
/// one-sided forms, so a chain without request edits never buffers request bodies, and one without response edits
/// never holds responses.
/// </summary>
internal sealed class JsonBodyPolicy(JsonBodyEngine engine) : IPolicy, IRequestBodyPolicy, IResponseBodyPolicy
{
    public static IPolicy Create(string name, JsonBodyOptions options, PolicyBuildContext context)
    {
        var engine = new JsonBodyEngine(name, options, context.Logger);
        return (engine.Request, engine.Response) switch
        {
            (null, null) => new ResponseJsonBodyPolicy(engine), // warned at load: changes nothing (every response is let alone)
            (_, null) => new RequestJsonBodyPolicy(engine),
            (null, _) => new ResponseJsonBodyPolicy(engine),
            _ => new JsonBodyPolicy(engine),
        };
    }

    public string Name => engine.Name;
    public JsonBodyEngine Engine => engine;
    public long MaxBody => engine.MaxSize;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
    public PolicyAnswer? OnBody(PolicyContext context, ReadOnlySequence<byte> body) => engine.OnRequestBody(context, body);
    public PolicyAnswer? OnTooLarge(PolicyContext context) => engine.RequestTooLarge;
    public long WantsResponseBody(PolicyContext context, ResponseView response, long bodyLength) => engine.WantsResponseBody(context, response, bodyLength);
    public ResponseBodyOutcome OnResponseBody(PolicyContext context, ResponseView response, ReadOnlyMemory<byte> body, bool tooLarge, IBufferWriter<byte> output)
        => engine.OnResponseBody(context, response, body, tooLarge, output);
}

/// <summary>A json_body policy with request edits only: not an <see cref="IResponseBodyPolicy"/>.</summary>
internal sealed class RequestJsonBodyPolicy(JsonBodyEngine engine) : IPolicy, IRequestBodyPolicy
{
    public string Name => engine.Name;
    public JsonBodyEngine Engine => engine;
    public long MaxBody => engine.MaxSize;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
    public PolicyAnswer? OnBody(PolicyContext context, ReadOnlySequence<byte> body) => engine.OnRequestBody(context, body);
    public PolicyAnswer? OnTooLarge(PolicyContext context) => engine.RequestTooLarge;
}

/// <summary>A json_body policy with response edits only: not an <see cref="IRequestBodyPolicy"/> (request bodies stream as usual).</summary>
internal sealed class ResponseJsonBodyPolicy(JsonBodyEngine engine) : IPolicy, IResponseBodyPolicy
{
    public string Name => engine.Name;
    public JsonBodyEngine Engine => engine;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
    public long WantsResponseBody(PolicyContext context, ResponseView response, long bodyLength) => engine.WantsResponseBody(context, response, bodyLength);
    public ResponseBodyOutcome OnResponseBody(PolicyContext context, ResponseView response, ReadOnlyMemory<byte> body, bool tooLarge, IBufferWriter<byte> output)
        => engine.OnResponseBody(context, response, body, tooLarge, output);
}
