namespace FastProxy.Http1;

/// <summary>Why a request or response head was refused. The status a request error earns is <see cref="HeadErrors.StatusCode"/>.</summary>
public enum HeadError : byte
{
    None = 0,

    // Framing of lines (RFC 9112 §2.2).
    BareLineFeed,
    TooManyEmptyLines,

    // Sizes ([limits]).
    RequestLineTooLong,
    HeadersTooLarge,
    TooManyHeaders,

    // Request line (RFC 9112 §3).
    InvalidRequestLine,
    InvalidMethod,
    InvalidTarget,
    InvalidVersion,
    AsteriskFormNotOptions,
    MethodNotImplemented,

    // Field lines (RFC 9112 §5, RFC 9110 §5).
    ObsoleteLineFolding,
    MissingColon,
    EmptyFieldName,
    WhitespaceBeforeColon,
    InvalidFieldName,
    InvalidFieldValue,

    // Host (RFC 9112 §3.2).
    MissingHost,
    EmptyHost,
    DuplicateHost,
    InvalidHost,

    // Message framing (RFC 9112 §6).
    InvalidContentLength,
    DuplicateContentLength,
    ContentLengthAndTransferEncoding,
    InvalidTransferEncoding,
    UnsupportedTransferEncoding,
    TransferEncodingOnHttp10,
    InvalidConnection,

    // Response status line (RFC 9112 §4).
    InvalidStatusLine,
}

public static class HeadErrors
{
    /// <summary>The status the proxy answers a client request with for this error (docs/behaviour.md).</summary>
    public static int StatusCode(HeadError error) => error switch
    {
        HeadError.None => 200,
        HeadError.RequestLineTooLong => 414,
        HeadError.HeadersTooLarge or HeadError.TooManyHeaders => 431,
        HeadError.UnsupportedTransferEncoding or HeadError.MethodNotImplemented => 501,
        _ => 400,
    };
}
