using System.Buffers;
using System.Text.Json;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.JsonBody;

/// <summary>The request and response sides of a json_body policy.</summary>
internal sealed partial class JsonBodyEngine
{
    private static readonly byte[] s_etag = "etag"u8.ToArray();
    private static readonly byte[] s_contentEncoding = "content-encoding"u8.ToArray();

    private readonly PolicyAnswer _invalid;
    private readonly PolicyAnswer _encoded;

    // Per thread: a body is worked on synchronously, start to end, on one thread.
    [ThreadStatic] private static PooledBufferWriter? t_scratch;
    [ThreadStatic] private static PooledBufferWriter? t_contiguous;
    [ThreadStatic] private static PooledBufferWriter? t_output;

    /// <summary>413 (problem+json) for a request body over max_size: refused whatever oversize says (it could hide what remove should drop).</summary>
    public PolicyAnswer RequestTooLarge { get; }

    /// <summary>
    /// The whole request body (de-chunked). A JSON body is rewritten (the upstream gets the rewrite with a
    /// Content-Length, in identity coding); anything else that is not JSON by its Content-Type goes on as it came.
    /// 400 for a body that says JSON and is not; 415 for a coding that cannot be decoded; 413 past max_size decoded.
    /// </summary>
    public PolicyAnswer? OnRequestBody(PolicyContext context, ReadOnlySequence<byte> body)
    {
        if (Request is null || body.IsEmpty) return null;
        if (!context.TryGetHeader("content-type"u8, out var type) || !IsJson(type)) return null;
        var coding = RequestCoding(context);
        if (coding == Coding.Unknown)
        {
            Skipped(context, response: false, JsonBodySkip.Encoded);
            return _encoded;
        }
        var contiguous = t_contiguous ??= new PooledBufferWriter();
        var scratch = t_scratch ??= new PooledBufferWriter();
        var output = t_output ??= new PooledBufferWriter();
        try
        {
            ReadOnlyMemory<byte> memory;
            if (body.IsSingleSegment)
            {
                memory = body.First;
            }
            else
            {
                foreach (var segment in body) contiguous.Write(segment.Span);
                memory = contiguous.WrittenMemory;
            }
            switch (Transform(Request, context, coding, memory, scratch, output))
            {
                case BodyVerdict.Transformed:
                    JsonBodyStats.CountTransformed(response: false);
                    context.ReplaceBody(output.WrittenSpan);
                    if (coding != Coding.Identity) context.RemoveHeaders(s_contentEncoding);
                    return null;
                case BodyVerdict.Unchanged:
                    return null;
                case BodyVerdict.TooLarge:
                    Skipped(context, response: false, JsonBodySkip.Oversize);
                    return RequestTooLarge;
                default:
                    Skipped(context, response: false, JsonBodySkip.Invalid);
                    return _invalid;
            }
        }
        finally
        {
            contiguous.Release();
            scratch.Release();
            output.Release();
        }
    }

    /// <summary>See <see cref="IResponseBodyPolicy.WantsResponseBody"/>: JSON, a coding it decodes, within max_size (when the length is known).</summary>
    public long WantsResponseBody(PolicyContext context, ResponseView response, long bodyLength)
    {
        // 206: a range of a document is not a document.
        if (Response is null || response.Status is < 200 or 206 || bodyLength == 0) return 0;
        if (!response.TryGetHeader("content-type"u8, out var type) || !IsJson(type)) return 0;
        if (ResponseCoding(response) == Coding.Unknown)
        {
            Skipped(context, response: true, JsonBodySkip.Encoded);
            return 0;
        }
        if (bodyLength > MaxSize)
        {
            Skipped(context, response: true, JsonBodySkip.Oversize);
            return Refuse ? -1 : 0;
        }
        return MaxSize;
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
                verdict = Transform(Response!, context, coding, body, scratch, output);
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
                Skipped(context, response: true, JsonBodySkip.Oversize);
                return Refuse ? ResponseBodyOutcome.Refused : ResponseBodyOutcome.Unchanged;
            default:
                Skipped(context, response: true, JsonBodySkip.Invalid);
                return ResponseBodyOutcome.Unchanged;
        }
    }

    /// <summary>The request's coding: one Content-Encoding field with one coding, else Unknown.</summary>
    private static Coding RequestCoding(PolicyContext context)
    {
        int first = context.FindHeader(s_contentEncoding);
        if (first < 0) return Coding.Identity;
        if (context.FindHeader(s_contentEncoding, first + 1) >= 0) return Coding.Unknown;
        return ContentCoding.Parse(context.HeaderValue(first));
    }

    /// <summary>The response's coding: one Content-Encoding field with one coding, else Unknown.</summary>
    private static Coding ResponseCoding(ResponseView response)
    {
        var coding = Coding.Identity;
        bool found = false;
        for (int i = 0; i < response.HeaderCount; i++)
        {
            if (!System.Text.Ascii.EqualsIgnoreCase(response.HeaderName(i), s_contentEncoding)) continue;
            if (found) return Coding.Unknown;
            found = true;
            coding = ContentCoding.Parse(response.HeaderValue(i));
        }
        return coding;
    }

    /// <summary>An RFC 9457 problem+json answer, built once at load.</summary>
    private static PolicyAnswer Problem(string policy, int status, string reason, string title, string detail)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "about:blank");
            writer.WriteString("title", title);
            writer.WriteNumber("status", status);
            writer.WriteString("detail", detail);
            writer.WriteEndObject();
        }
        return new PolicyAnswer(status, RejectionCounter.For(policy, "json_body", reason), null,
            System.Text.Encoding.UTF8.GetString(stream.ToArray()), "application/problem+json");
    }
}
