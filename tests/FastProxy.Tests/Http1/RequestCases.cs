using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>A request head the proxy must refuse, and the exact reason. <see cref="Request"/> is Latin-1 wire text.</summary>
public sealed record RejectCase(string Name, string Request, HeadError Error)
{
    public int Status => HeadErrors.StatusCode(Error);
}

/// <summary>
/// Malformed and ambiguous requests, by RFC 9112 rule. Shared by the parser unit tests and the end-to-end rejection
/// tests (tests/FastProxy.Tests/Forwarding/RejectionTests.*.cs), which send each one through a real proxy.
/// Theories take the case name only, so test names stay printable whatever bytes the request holds.
/// </summary>
public static class RequestCases
{
    private const string Post = "POST / HTTP/1.1\r\nHost: a\r\n";
    private const string Get = "GET / HTTP/1.1\r\nHost: a\r\n";

    /// <summary>A request whose only oddity is one extra field line (given without its CRLF).</summary>
    private static string WithField(string line) => Get + line + "\r\n\r\n";

    private static string WithContentLength(string value) => Post + "Content-Length: " + value + "\r\n\r\n";

    private static string WithTransferEncoding(string value) => Post + "Transfer-Encoding: " + value + "\r\n\r\n0\r\n\r\n";

    private static string WithRequestLine(string line) => line + "\r\nHost: a\r\n\r\n";

    private static string WithHost(string value) => "GET / HTTP/1.1\r\nHost: " + value + "\r\n\r\n";

    /// <summary>RFC 9112 §6.1, §6.3, §8.6: Content-Length and Transfer-Encoding must frame the body one way only.</summary>
    public static readonly RejectCase[] Framing =
    [
        new("cl_and_te", Post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HeadError.ContentLengthAndTransferEncoding),
        new("te_and_cl", Post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", HeadError.ContentLengthAndTransferEncoding),
        new("cl_zero_and_te", Post + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HeadError.ContentLengthAndTransferEncoding),
        new("cl_and_te_gzip", Post + "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\nhello", HeadError.ContentLengthAndTransferEncoding),
        new("cl_duplicate_equal", Post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", HeadError.DuplicateContentLength),
        new("cl_duplicate_differing", Post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", HeadError.DuplicateContentLength),
        new("cl_duplicate_case", Post + "Content-Length: 5\r\ncontent-length: 0\r\n\r\nhello", HeadError.DuplicateContentLength),
        new("cl_list_equal", WithContentLength("5, 5"), HeadError.InvalidContentLength),
        new("cl_list_differing", WithContentLength("5,6"), HeadError.InvalidContentLength),
        new("cl_plus", WithContentLength("+5"), HeadError.InvalidContentLength),
        new("cl_minus_zero", WithContentLength("-0"), HeadError.InvalidContentLength),
        new("cl_negative", WithContentLength("-5"), HeadError.InvalidContentLength),
        new("cl_hex", WithContentLength("0x5"), HeadError.InvalidContentLength),
        new("cl_inner_space", WithContentLength("5 0"), HeadError.InvalidContentLength),
        new("cl_inner_tab", WithContentLength("5\t0"), HeadError.InvalidContentLength),
        new("cl_empty", WithContentLength(""), HeadError.InvalidContentLength),
        new("cl_only_whitespace", WithContentLength(" \t "), HeadError.InvalidContentLength),
        new("cl_overflow_long", WithContentLength("9223372036854775808"), HeadError.InvalidContentLength),
        new("cl_overflow_huge", WithContentLength("184467440737095516160"), HeadError.InvalidContentLength),
        new("cl_decimal", WithContentLength("5.0"), HeadError.InvalidContentLength),
        new("cl_exponent", WithContentLength("5e0"), HeadError.InvalidContentLength),
        new("cl_word", WithContentLength("five"), HeadError.InvalidContentLength),
        new("cl_quoted", WithContentLength("\"5\""), HeadError.InvalidContentLength),
        new("cl_semicolon", WithContentLength("5;"), HeadError.InvalidContentLength),
        new("cl_superscript_digit", WithContentLength("\u00B2"), HeadError.InvalidContentLength),
        new("cl_nul", WithContentLength("5\0"), HeadError.InvalidFieldValue),
        new("cl_vertical_tab", WithContentLength("\v5"), HeadError.InvalidFieldValue),

        // RFC 9112 §6.1: only a single, final "chunked" is accepted; an unknown coding is 501 (RFC 9112 §6.1 ¶15).
        new("te_gzip", WithTransferEncoding("gzip"), HeadError.UnsupportedTransferEncoding),
        new("te_identity", WithTransferEncoding("identity"), HeadError.UnsupportedTransferEncoding),
        new("te_gzip_then_chunked", WithTransferEncoding("gzip, chunked"), HeadError.UnsupportedTransferEncoding),
        new("te_lines_gzip_then_chunked", Post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HeadError.UnsupportedTransferEncoding),
        new("te_chunkedx", WithTransferEncoding("chunkedx"), HeadError.UnsupportedTransferEncoding),
        new("te_xchunked", WithTransferEncoding("xchunked"), HeadError.UnsupportedTransferEncoding),
        new("te_chunked_then_gzip", WithTransferEncoding("chunked, gzip"), HeadError.InvalidTransferEncoding),
        new("te_lines_chunked_then_gzip", Post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", HeadError.InvalidTransferEncoding),
        new("te_chunked_twice", WithTransferEncoding("chunked, chunked"), HeadError.InvalidTransferEncoding),
        new("te_lines_chunked_twice", Post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HeadError.InvalidTransferEncoding),
        new("te_leading_comma", WithTransferEncoding(", chunked"), HeadError.InvalidTransferEncoding),
        new("te_trailing_comma", WithTransferEncoding("chunked,"), HeadError.InvalidTransferEncoding),
        new("te_trailing_comma_space", WithTransferEncoding("chunked , "), HeadError.InvalidTransferEncoding),
        new("te_double_comma", WithTransferEncoding("gzip,,chunked"), HeadError.InvalidTransferEncoding),
        new("te_empty", WithTransferEncoding(""), HeadError.InvalidTransferEncoding),
        new("te_parameter", WithTransferEncoding("chunked;q=1"), HeadError.InvalidTransferEncoding),
        new("te_quoted", WithTransferEncoding("\"chunked\""), HeadError.InvalidTransferEncoding),
        new("te_inner_space", WithTransferEncoding("chun ked"), HeadError.InvalidTransferEncoding),
        new("te_vertical_tab_before", WithTransferEncoding("\vchunked"), HeadError.InvalidFieldValue),
        new("te_vertical_tab_after", WithTransferEncoding("chunked\v"), HeadError.InvalidFieldValue),
        new("te_form_feed_before", WithTransferEncoding("\fchunked"), HeadError.InvalidFieldValue),
        new("te_form_feed_after", WithTransferEncoding("chunked\f"), HeadError.InvalidFieldValue),
        new("te_nul_after", WithTransferEncoding("chunked\0"), HeadError.InvalidFieldValue),
        new("te_nul_inside", WithTransferEncoding("chun\0ked"), HeadError.InvalidFieldValue),
        new("te_cr_inside", WithTransferEncoding("chun\rked"), HeadError.InvalidFieldValue),
        new("te_space_before_colon", Post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", HeadError.WhitespaceBeforeColon),
        new("te_tab_before_colon", Post + "Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", HeadError.WhitespaceBeforeColon),
        new("te_folded", Post + "Transfer-Encoding: gzip,\r\n chunked\r\n\r\n0\r\n\r\n", HeadError.ObsoleteLineFolding),
        new("te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HeadError.TransferEncodingOnHttp10),
        new("te_http10_with_host", "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HeadError.TransferEncodingOnHttp10),
        new("te_http10_gzip", "POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", HeadError.TransferEncodingOnHttp10),
    ];

    /// <summary>RFC 9112 §2.2, §5; RFC 9110 §5.1, §5.5: field lines.</summary>
    public static readonly RejectCase[] Fields =
    [
        new("space_before_colon", WithField("X-A : b"), HeadError.WhitespaceBeforeColon),
        new("tab_before_colon", WithField("X-A\t: b"), HeadError.WhitespaceBeforeColon),
        new("host_space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeadError.WhitespaceBeforeColon),
        new("cl_space_before_colon", Post + "Content-Length : 5\r\n\r\nhello", HeadError.WhitespaceBeforeColon),
        new("obs_fold_space", Get + "X-A: b\r\n c\r\n\r\n", HeadError.ObsoleteLineFolding),
        new("obs_fold_tab", Get + "X-A: b\r\n\tc\r\n\r\n", HeadError.ObsoleteLineFolding),
        new("first_field_indented", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", HeadError.ObsoleteLineFolding),
        new("cl_folded", Post + "Content-Length: 5\r\n 0\r\n\r\nhello", HeadError.ObsoleteLineFolding),
        new("cl_folded_from_empty", Post + "Content-Length:\r\n 5\r\n\r\nhello", HeadError.InvalidContentLength),
        new("bare_cr_in_value", WithField("X-A: b\rc"), HeadError.InvalidFieldValue),
        new("bare_cr_ends_value", WithField("X-A: b\r"), HeadError.InvalidFieldValue),
        new("bare_cr_in_name", WithField("X\rA: b"), HeadError.InvalidFieldName),
        new("bare_cr_starts_field", WithField("\rX-A: b"), HeadError.InvalidFieldName),
        new("bare_cr_instead_of_crlf", Get + "X-A: b\rX-B: c\r\n\r\n", HeadError.InvalidFieldValue),
        new("bare_cr_final_line", Get + "\r\r\n", HeadError.MissingColon),
        new("nul_in_value", WithField("X-A: b\0c"), HeadError.InvalidFieldValue),
        new("nul_value", WithField("X-A: \0"), HeadError.InvalidFieldValue),
        new("del_in_value", WithField("X-A: b\u007F"), HeadError.InvalidFieldValue),
        new("soh_in_value", WithField("X-A: \u0001b"), HeadError.InvalidFieldValue),
        new("esc_in_value", WithField("X-A: b\u001B[0m"), HeadError.InvalidFieldValue),
        new("vertical_tab_in_value", WithField("X-A: b\vc"), HeadError.InvalidFieldValue),
        new("form_feed_in_value", WithField("X-A: b\fc"), HeadError.InvalidFieldValue),
        new("bare_lf_in_value", Get + "X-A: b\nc\r\n\r\n", HeadError.BareLineFeed),
        new("name_parenthesis", WithField("X(A): b"), HeadError.InvalidFieldName),
        new("name_at", WithField("X@A: b"), HeadError.InvalidFieldName),
        new("name_slash", WithField("X/A: b"), HeadError.InvalidFieldName),
        new("name_quote", WithField("X\"A: b"), HeadError.InvalidFieldName),
        new("name_brace", WithField("X{A}: b"), HeadError.InvalidFieldName),
        new("name_bracket", WithField("[X]: b"), HeadError.InvalidFieldName),
        new("name_equals", WithField("X=A: b"), HeadError.InvalidFieldName),
        new("name_comma", WithField("X,A: b"), HeadError.InvalidFieldName),
        new("name_semicolon", WithField("X;A: b"), HeadError.InvalidFieldName),
        new("name_question", WithField("X?A: b"), HeadError.InvalidFieldName),
        new("name_inner_space", WithField("X A: b"), HeadError.InvalidFieldName),
        new("name_nul", WithField("X\0A: b"), HeadError.InvalidFieldName),
        new("name_del", WithField("X\u007FA: b"), HeadError.InvalidFieldName),
        new("name_non_ascii", WithField("X-\u00E9: b"), HeadError.InvalidFieldName),
        new("name_empty", WithField(": b"), HeadError.EmptyFieldName),
        new("no_colon", WithField("X-A b"), HeadError.MissingColon),
        new("no_colon_name_only", WithField("X-A"), HeadError.MissingColon),
        new("host_no_colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", HeadError.MissingColon),
        new("connection_not_token", WithField("Connection: close close"), HeadError.InvalidConnection),
        new("connection_quoted", WithField("Connection: \"close\""), HeadError.InvalidConnection),

        // RFC 9112 §2.2: lines end with CRLF; a bare LF is refused wherever it is.
        new("bare_lf_request_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", HeadError.BareLineFeed),
        new("bare_lf_field", "GET / HTTP/1.1\r\nHost: a\n\r\n", HeadError.BareLineFeed),
        new("bare_lf_final_line", "GET / HTTP/1.1\r\nHost: a\r\n\n", HeadError.BareLineFeed),
        new("bare_lf_everywhere", "GET / HTTP/1.1\nHost: a\n\n", HeadError.BareLineFeed),
        new("bare_lf_leading_line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HeadError.BareLineFeed),
        new("leading_empty_lines_5", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HeadError.TooManyEmptyLines),
        new("leading_whitespace_line", " \r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HeadError.InvalidMethod),
    ];

    /// <summary>RFC 9112 §3: request-line = method SP request-target SP HTTP-version.</summary>
    public static readonly RejectCase[] RequestLine =
    [
        new("method_parenthesis", WithRequestLine("G(T / HTTP/1.1"), HeadError.InvalidMethod),
        new("method_at", WithRequestLine("G@T / HTTP/1.1"), HeadError.InvalidMethod),
        new("method_control", WithRequestLine("G\u0001T / HTTP/1.1"), HeadError.InvalidMethod),
        new("method_nul", WithRequestLine("GE\0T / HTTP/1.1"), HeadError.InvalidMethod),
        new("method_bare_cr", WithRequestLine("G\rET / HTTP/1.1"), HeadError.InvalidMethod),
        new("method_tab_separator", WithRequestLine("GET\t/ HTTP/1.1"), HeadError.InvalidMethod),
        new("method_non_ascii", WithRequestLine("G\u00C9T / HTTP/1.1"), HeadError.InvalidMethod),
        new("method_leading_space", WithRequestLine(" GET / HTTP/1.1"), HeadError.InvalidMethod),
        new("method_only", WithRequestLine("GET"), HeadError.InvalidRequestLine),
        new("http09", WithRequestLine("GET /"), HeadError.InvalidRequestLine),
        new("version_1_2", WithRequestLine("GET / HTTP/1.2"), HeadError.InvalidVersion),
        new("version_2_0", WithRequestLine("GET / HTTP/2.0"), HeadError.InvalidVersion),
        new("version_2", WithRequestLine("GET / HTTP/2"), HeadError.InvalidVersion),
        new("version_0_9", WithRequestLine("GET / HTTP/0.9"), HeadError.InvalidVersion),
        new("version_1", WithRequestLine("GET / HTTP/1"), HeadError.InvalidVersion),
        new("version_1_10", WithRequestLine("GET / HTTP/1.10"), HeadError.InvalidVersion),
        new("version_01_1", WithRequestLine("GET / HTTP/01.1"), HeadError.InvalidVersion),
        new("version_lowercase", WithRequestLine("GET / http/1.1"), HeadError.InvalidVersion),
        new("version_trailing_space", WithRequestLine("GET / HTTP/1.1 "), HeadError.InvalidVersion),
        new("version_trailing_tab", WithRequestLine("GET / HTTP/1.1\t"), HeadError.InvalidVersion),
        new("version_trailing_nul", WithRequestLine("GET / HTTP/1.1\0"), HeadError.InvalidVersion),
        new("version_trailing_cr", WithRequestLine("GET / HTTP/1.1\r"), HeadError.InvalidVersion),
        new("version_empty", WithRequestLine("GET / "), HeadError.InvalidVersion),
        new("version_double_space", WithRequestLine("GET /  HTTP/1.1"), HeadError.InvalidVersion),
        // The second SP ends the target, and the version is judged first: a space in (or before) the target shows as a bad version.
        new("target_space", WithRequestLine("GET /a b HTTP/1.1"), HeadError.InvalidVersion),
        new("target_double_space_before", WithRequestLine("GET  / HTTP/1.1"), HeadError.InvalidVersion),
        new("target_empty", WithRequestLine("GET  HTTP/1.1"), HeadError.InvalidTarget),
        new("target_tab", WithRequestLine("GET /a\tb HTTP/1.1"), HeadError.InvalidTarget),
        new("target_control", WithRequestLine("GET /\u0001 HTTP/1.1"), HeadError.InvalidTarget),
        new("target_nul", WithRequestLine("GET /a\0 HTTP/1.1"), HeadError.InvalidTarget),
        new("target_del", WithRequestLine("GET /\u007F HTTP/1.1"), HeadError.InvalidTarget),
        new("target_bare_cr", WithRequestLine("GET /\r HTTP/1.1"), HeadError.InvalidTarget),
        new("target_vertical_tab", WithRequestLine("GET /\v HTTP/1.1"), HeadError.InvalidTarget),
        new("target_non_ascii", WithRequestLine("GET /\u00E9 HTTP/1.1"), HeadError.InvalidTarget),
        new("target_fragment", WithRequestLine("GET /a#b HTTP/1.1"), HeadError.InvalidTarget),
        new("target_fragment_only", WithRequestLine("GET /# HTTP/1.1"), HeadError.InvalidTarget),
        new("target_fragment_absolute", WithRequestLine("GET http://a/#x HTTP/1.1"), HeadError.InvalidTarget),
        new("target_relative", WithRequestLine("GET a/b HTTP/1.1"), HeadError.InvalidTarget),
        new("target_authority_form", WithRequestLine("GET a:80 HTTP/1.1"), HeadError.InvalidTarget),
        new("asterisk_get", WithRequestLine("GET * HTTP/1.1"), HeadError.AsteriskFormNotOptions),
        new("asterisk_post", WithRequestLine("POST * HTTP/1.1"), HeadError.AsteriskFormNotOptions),
        new("asterisk_head", WithRequestLine("HEAD * HTTP/1.1"), HeadError.AsteriskFormNotOptions),
        new("asterisk_lowercase_options", WithRequestLine("options * HTTP/1.1"), HeadError.AsteriskFormNotOptions),
        new("asterisk_with_path", WithRequestLine("OPTIONS */a HTTP/1.1"), HeadError.InvalidTarget),
        new("asterisk_twice", WithRequestLine("OPTIONS ** HTTP/1.1"), HeadError.InvalidTarget),
        new("connect", WithRequestLine("CONNECT a:443 HTTP/1.1"), HeadError.MethodNotImplemented),
        new("absolute_no_authority", WithRequestLine("GET http:///a HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_scheme_only", WithRequestLine("GET http:// HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_userinfo", WithRequestLine("GET http://u@a/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_userinfo_password", WithRequestLine("GET http://u:p@a/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_ftp", WithRequestLine("GET ftp://a/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_one_slash", WithRequestLine("GET http:/a/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_bad_port", WithRequestLine("GET http://a:x/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_long_port", WithRequestLine("GET http://a:123456/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_two_ports", WithRequestLine("GET http://a:80:81/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_open_bracket", WithRequestLine("GET http://[::1/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_empty_brackets", WithRequestLine("GET http://[]/ HTTP/1.1"), HeadError.InvalidTarget),
        new("absolute_port_only", WithRequestLine("GET http://:80/ HTTP/1.1"), HeadError.InvalidTarget),
    ];

    /// <summary>RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host, and it is a valid authority.</summary>
    public static readonly RejectCase[] Host =
    [
        new("host_missing", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n", HeadError.MissingHost),
        new("host_missing_no_fields", "GET / HTTP/1.1\r\n\r\n", HeadError.MissingHost),
        new("host_missing_absolute_form", "GET http://a/ HTTP/1.1\r\n\r\n", HeadError.MissingHost),
        new("host_empty", WithHost(""), HeadError.EmptyHost),
        new("host_whitespace_only", WithHost(" \t"), HeadError.EmptyHost),
        new("host_duplicate_equal", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", HeadError.DuplicateHost),
        new("host_duplicate_differing", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", HeadError.DuplicateHost),
        new("host_duplicate_one_empty", "GET / HTTP/1.1\r\nHost:\r\nHost: a\r\n\r\n", HeadError.DuplicateHost),
        new("host_duplicate_http10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", HeadError.DuplicateHost),
        new("host_duplicate_absolute_form", "GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HeadError.DuplicateHost),
        new("host_inner_space", WithHost("a b"), HeadError.InvalidHost),
        new("host_slash", WithHost("a/b"), HeadError.InvalidHost),
        new("host_userinfo", WithHost("u@a"), HeadError.InvalidHost),
        new("host_bad_port", WithHost("a:b"), HeadError.InvalidHost),
        new("host_long_port", WithHost("a:123456"), HeadError.InvalidHost),
        new("host_question", WithHost("a?b"), HeadError.InvalidHost),
        new("host_hash", WithHost("a#b"), HeadError.InvalidHost),
        new("host_quote", WithHost("a\"b"), HeadError.InvalidHost),
        new("host_open_bracket", WithHost("[::1"), HeadError.InvalidHost),
        new("host_ipv6_unbracketed", WithHost("::1"), HeadError.InvalidHost),
        new("host_after_bracket", WithHost("[::1]x"), HeadError.InvalidHost),
        new("host_port_only", WithHost(":80"), HeadError.InvalidHost),
    ];

    public static IEnumerable<RejectCase> All => [.. Framing, .. Fields, .. RequestLine, .. Host];

    public static RejectCase Find(string name) => All.Single(c => c.Name == name);

    public static TheoryData<string> Names(RejectCase[] cases)
    {
        var data = new TheoryData<string>();
        foreach (var c in cases) data.Add(c.Name);
        return data;
    }

    public static TheoryData<string> FramingNames => Names(Framing);
    public static TheoryData<string> FieldNames => Names(Fields);
    public static TheoryData<string> RequestLineNames => Names(RequestLine);
    public static TheoryData<string> HostNames => Names(Host);
}
