using System.Net;
using System.Text;
using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.ErrorPages;

/// <summary>
/// type = "error_pages": gives error answers a body of its own, RFC 9457 problem+json or an HTML page, in the format
/// the client's Accept prefers. It answers nothing itself (its request side is a no-op): the forwarder asks the chain
/// for it (<see cref="PolicyChain.ErrorPages"/>) when it writes an error, its own or a policy's (and, with
/// only_proxy_errors = false, an upstream's). Every page is built here, at load, per status and format.
/// </summary>
internal sealed class ErrorPagesPolicy : IPolicy, IErrorPages
{
    private const int FirstStatus = 400;

    internal const string ProblemContentType = "application/problem+json";

    /// <summary>[format][status - 400]: the page, or null where the status is not listed.</summary>
    private readonly ErrorPage?[][] _pages;
    private readonly ErrorPageFormat[] _formats;

    public ErrorPagesPolicy(string name, ErrorPagesOptions options)
    {
        Name = name;
        OnlyProxyErrors = options.OnlyProxyErrors;
        _formats = [.. options.Formats];
        _pages = new ErrorPage?[2][];
        foreach (var format in _formats)
        {
            var pages = new ErrorPage?[200];
            for (int status = FirstStatus; status < 600; status++)
            {
                if (!options.Statuses.Any(s => s.Contains(status))) continue;
                pages[status - FirstStatus] = format == ErrorPageFormat.ProblemJson ? ProblemPage(status) : HtmlPage(status, options.Pages);
            }
            _pages[(int)format] = pages;
        }
    }

    public string Name { get; }

    public bool OnlyProxyErrors { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;

    public int ChooseFormat(RequestHead request, ReadOnlySpan<byte> head)
    {
        var first = _formats[0];
        if (_formats.Length == 1) return (int)first;
        var qualities = new AcceptNegotiation.Qualities();
        foreach (ref readonly var field in request.Fields)
        {
            if (field.NameLength == 6 && Ascii.EqualsIgnoreCase(field.Name(head), "accept"u8)) qualities.Add(field.Value(head));
        }
        if (!qualities.Any) return (int)first;
        int problem = qualities.ProblemJsonQ, html = qualities.HtmlQ;
        if (problem == html) return (int)first;
        return (int)(problem > html ? ErrorPageFormat.ProblemJson : ErrorPageFormat.Html);
    }

    public ErrorPage? Find(int status, int format)
    {
        if ((uint)(status - FirstStatus) >= 200u) return null;
        var pages = _pages[format];
        return pages?[status - FirstStatus];
    }

    /// <summary>{"type":"about:blank","title":REASON,"status":N,"detail":...} and room for "instance" (the request id).</summary>
    internal static ErrorPage ProblemPage(int status)
    {
        // (Pipeline/ProblemDetails.Body, from the validate branch, writes the same members; fold into it once both are on main.)
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            // about:blank: the status says it all (RFC 9457 §4.2.1); title is then the status's reason phrase.
            json.WriteString("type", "about:blank");
            json.WriteString("title", StatusTexts.Title(status));
            json.WriteNumber("status", status);
            json.WriteString("detail", StatusTexts.Detail(status));
            json.WriteEndObject();
        }
        var body = buffer.ToArray();
        byte[] instanceOpen = [.. body.AsSpan(0, body.Length - 1), .. ",\"instance\":\""u8];
        return new ErrorPage(status, ProblemContentType, body, instanceOpen);
    }

    /// <summary>The file from pages (the status's own, else its class's), else a built-in page.</summary>
    internal static ErrorPage HtmlPage(int status, IReadOnlyList<ErrorPageFile> files)
    {
        var file = files.FirstOrDefault(f => !f.Statuses.IsClass && f.Statuses.Contains(status))
            ?? files.FirstOrDefault(f => f.Statuses.Contains(status));
        if (file is not null) return new ErrorPage(status, "text/html; charset=utf-8", file.Content);
        var title = WebUtility.HtmlEncode($"{status} {StatusTexts.Title(status)}");
        var html = $"""
            <!DOCTYPE html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
            <body><h1>{title}</h1><p>{WebUtility.HtmlEncode(StatusTexts.Detail(status))}</p></body>
            </html>

            """;
        return new ErrorPage(status, "text/html; charset=utf-8", Encoding.UTF8.GetBytes(html.ReplaceLineEndings("\n")));
    }
}
