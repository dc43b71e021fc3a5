using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>An upstream response head the proxy must not pass on (it answers 502), and the exact reason.</summary>
public sealed record BadResponseCase(string Name, string Response, HeadError Error);

/// <summary>
/// Upstream responses with ambiguous framing or a bad status line. Shared by the parser unit tests and the
/// end-to-end 502 tests. Every response carries an "X-Marker" field and a "smuggled" body, so a test can tell
/// whether any of it leaked to the client.
/// </summary>
public static class ResponseCases
{
    private const string Tail = "X-Marker: leaked\r\n\r\nsmuggled";

    private static string With(string statusLine, string fields) => statusLine + "\r\n" + fields + Tail;

    private static string Ok(string fields) => With("HTTP/1.1 200 OK", fields);

    public static readonly BadResponseCase[] All =
    [
        new("cl_and_te", Ok("Content-Length: 8\r\nTransfer-Encoding: chunked\r\n"), HeadError.ContentLengthAndTransferEncoding),
        new("te_and_cl", Ok("Transfer-Encoding: chunked\r\nContent-Length: 8\r\n"), HeadError.ContentLengthAndTransferEncoding),
        new("cl_differing", Ok("Content-Length: 8\r\nContent-Length: 7\r\n"), HeadError.DuplicateContentLength),
        new("cl_equal_twice", Ok("Content-Length: 8\r\nContent-Length: 8\r\n"), HeadError.DuplicateContentLength),
        new("cl_list", Ok("Content-Length: 8, 8\r\n"), HeadError.InvalidContentLength),
        new("cl_plus", Ok("Content-Length: +8\r\n"), HeadError.InvalidContentLength),
        new("cl_negative", Ok("Content-Length: -1\r\n"), HeadError.InvalidContentLength),
        new("cl_hex", Ok("Content-Length: 0x8\r\n"), HeadError.InvalidContentLength),
        new("cl_inner_space", Ok("Content-Length: 8 0\r\n"), HeadError.InvalidContentLength),
        new("cl_empty", Ok("Content-Length:\r\n"), HeadError.InvalidContentLength),
        new("cl_overflow", Ok("Content-Length: 99999999999999999999\r\n"), HeadError.InvalidContentLength),
        new("te_gzip", Ok("Transfer-Encoding: gzip\r\n"), HeadError.InvalidTransferEncoding),
        new("te_gzip_then_chunked", Ok("Transfer-Encoding: gzip, chunked\r\n"), HeadError.InvalidTransferEncoding),
        new("te_chunked_then_gzip", Ok("Transfer-Encoding: chunked, gzip\r\n"), HeadError.InvalidTransferEncoding),
        new("te_chunked_twice", Ok("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), HeadError.InvalidTransferEncoding),
        new("te_identity", Ok("Transfer-Encoding: identity\r\n"), HeadError.InvalidTransferEncoding),
        new("te_empty", Ok("Transfer-Encoding:\r\n"), HeadError.InvalidTransferEncoding),
        new("te_vertical_tab", Ok("Transfer-Encoding: \vchunked\r\n"), HeadError.InvalidFieldValue),
        new("te_space_before_colon", Ok("Transfer-Encoding : chunked\r\n"), HeadError.WhitespaceBeforeColon),
        new("field_folded", Ok("Content-Length: 8\r\nX-A: a\r\n b\r\n"), HeadError.ObsoleteLineFolding),
        new("field_nul", Ok("Content-Length: 8\r\nX-A: a\0b\r\n"), HeadError.InvalidFieldValue),
        new("field_bare_cr", Ok("Content-Length: 8\r\nX-A: a\rb\r\n"), HeadError.InvalidFieldValue),
        new("field_no_colon", Ok("Content-Length: 8\r\nX-A\r\n"), HeadError.MissingColon),
        new("field_bad_name", Ok("Content-Length: 8\r\nX A: b\r\n"), HeadError.InvalidFieldName),
        new("bare_lf", "HTTP/1.1 200 OK\nContent-Length: 8\n" + Tail, HeadError.BareLineFeed),
        new("status_letters", With("HTTP/1.1 2OO OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_two_digits", With("HTTP/1.1 20 OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_four_digits", With("HTTP/1.1 2000 OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_below_100", With("HTTP/1.1 099 Low", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_above_599", With("HTTP/1.1 600 High", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_double_space", With("HTTP/1.1  200 OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_tab", With("HTTP/1.1 200\tOK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_reason_control", With("HTTP/1.1 200 O\u0001K", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_reason_bare_cr", With("HTTP/1.1 200 O\rK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_version_2", With("HTTP/2 200 OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_version_1_2", With("HTTP/1.2 200 OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_version_lowercase", With("http/1.1 200 OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_icy", With("ICY 200 OK", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_missing", With("HTTP/1.1", "Content-Length: 8\r\n"), HeadError.InvalidStatusLine),
        new("status_leading_empty_line", "\r\n" + With("HTTP/1.1 200 OK", "Content-Length: 8\r\n"), HeadError.TooManyEmptyLines),
        new("not_http", "<html>smuggled</html>\r\n\r\n", HeadError.InvalidStatusLine),
    ];

    public static BadResponseCase Find(string name) => All.Single(c => c.Name == name);

    public static TheoryData<string> Names
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var c in All) data.Add(c.Name);
            return data;
        }
    }
}
