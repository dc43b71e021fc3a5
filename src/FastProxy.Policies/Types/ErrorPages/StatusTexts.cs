namespace FastProxy.Policies.Types.ErrorPages;

/// <summary>
/// What an error page says about a status: its reason phrase (the problem's "title", as the status line reads, RFC 9110
/// §15) and one sentence for "detail" / the HTML page, worded for what the proxy itself answers with that status.
/// </summary>
internal static class StatusTexts
{
    public static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        < 500 => "Client Error",
        _ => "Server Error",
    };

    public static string Detail(int status) => status switch
    {
        400 => "The request could not be understood.",
        401 => "Authentication is required to access this resource.",
        403 => "Access to this resource is forbidden.",
        404 => "Nothing is served at this address.",
        405 => "This method is not allowed here.",
        408 => "The request did not arrive in time.",
        413 => "The request body is larger than allowed.",
        414 => "The request target is longer than allowed.",
        429 => "Too many requests: try again later.",
        431 => "The request's header fields are larger than allowed.",
        500 => "The server met an unexpected condition.",
        502 => "The upstream server could not be reached or gave an invalid answer.",
        503 => "No server is available for this request at the moment: try again later.",
        504 => "The upstream server did not answer in time.",
        < 500 => "The request was refused.",
        _ => "The request could not be completed.",
    };
}
