using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastProxy.Policies.Pipeline;

/// <summary>One failure of a problem's "errors" member: where (a JSON Pointer into the request body, or a field's name), which check, why.</summary>
public readonly record struct ProblemError(string Pointer, string Keyword, string Detail);

/// <summary>
/// RFC 9457 problem details (application/problem+json) for the answers policies give: type, title, status, detail,
/// and the extension members "field" (what failed: a header, a query parameter, a JSON Pointer into the body) and
/// "errors" (each failure of a schema). Written with <see cref="Utf8JsonWriter"/> only: whatever came from the client
/// (a field name, a pointer into its body) is JSON-escaped, never pasted into the text. Fixed answers are built once
/// at load; a schema failure builds one per refused request.
/// </summary>
public static class ProblemDetails
{
    public const string ContentType = "application/problem+json";

    /// <summary>The body of a problem: "type" (about:blank unless given), "title" (the status's reason phrase unless given), "status", then the rest when given.</summary>
    public static byte[] Body(int status, string? detail = null, string? field = null, IReadOnlyList<ProblemError>? errors = null,
        string? type = null, string? title = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, status, detail, field, errors, type, title);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the problem's JSON into <paramref name="output"/>.</summary>
    public static void Write(IBufferWriter<byte> output, int status, string? detail = null, string? field = null,
        IReadOnlyList<ProblemError>? errors = null, string? type = null, string? title = null)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        json.WriteString("type"u8, type ?? "about:blank");
        json.WriteString("title"u8, title ?? Title(status));
        json.WriteNumber("status"u8, status);
        if (detail is not null) json.WriteString("detail"u8, detail);
        if (field is not null) json.WriteString("field"u8, field);
        if (errors is { Count: > 0 })
        {
            json.WriteStartArray("errors"u8);
            foreach (var error in errors)
            {
                json.WriteStartObject();
                json.WriteString("pointer"u8, error.Pointer);
                json.WriteString("keyword"u8, error.Keyword);
                json.WriteString("detail"u8, error.Detail);
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    }

    /// <summary>
    /// A policy's answer carrying a problem body, with Content-Type application/problem+json and
    /// <paramref name="headers"/> (each checked: a token name, a value with no CR, LF or NUL).
    /// </summary>
    public static PolicyAnswer Answer(int status, RejectionCounter counter, string? detail = null, string? field = null,
        IReadOnlyList<ProblemError>? errors = null, IEnumerable<KeyValuePair<string, string>>? headers = null, string? type = null, string? title = null)
    {
        var lines = new StringBuilder();
        foreach (var (name, value) in headers ?? [])
        {
            if (!HeaderText.IsToken(name) || !HeaderText.IsFieldValue(value)) throw new ArgumentException($"invalid header {name}");
            lines.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        lines.Append("Content-Type: ").Append(ContentType).Append("\r\n");
        return new PolicyAnswer(status, counter, Encoding.ASCII.GetBytes(lines.ToString()), Body(status, detail, field, errors, type, title));
    }

    /// <summary>The reason phrase of <paramref name="status"/> (RFC 9110), as a problem's title when its type is about:blank.</summary>
    public static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => status < 500 ? "Client Error" : "Server Error",
    };
}
