using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>A chunked body the proxy must refuse, and the exact reason. <see cref="Body"/> is Latin-1 wire text.</summary>
public sealed record BadChunkedCase(string Name, string Body, ChunkedError Error);

/// <summary>
/// Malformed chunked bodies (RFC 9112 §7.1), shared by the decoder unit tests and the end-to-end rejection tests.
/// Each holds the byte that gives it away, so a decoder fed all of it must answer (not wait for more).
/// </summary>
public static class ChunkedCases
{
    /// <summary>Longest chunk extension accepted on one chunk line (the decoder's cap).</summary>
    public const int ExtensionCap = ChunkedDecoder.MaxExtensionBytes;

    public static readonly BadChunkedCase[] All =
    [
        new("size_hex_prefix", "0x5\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_plus", "+5\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_minus", "-5\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_leading_space", " 5\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_trailing_space", "5 \r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_trailing_tab", "5\t\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_inner_space", "1 0\r\n0123456789abcdef\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_space_before_extension", "5 ;a=b\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_empty", "\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_missing_before_extension", ";a=b\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_not_hex", "g\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_nul", "5\0\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_empty_last", "5\r\nhello\r\n\r\n\r\n", ChunkedError.InvalidChunkSize),
        new("size_overflow_17_digits", "10000000000000000\r\n", ChunkedError.ChunkSizeOverflow),
        new("size_overflow_16_digits", "FFFFFFFFFFFFFFFF\r\n", ChunkedError.ChunkSizeOverflow),
        new("size_overflow_after_leading_zeros", "00000000000000000000" + "10000000000000000\r\n", ChunkedError.ChunkSizeOverflow),
        new("extension_bare_semicolon", "5;\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_double_semicolon", "5;a;;b\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_no_name", "5;=b\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_empty_value", "5;a=\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_space_before_name", "5; a\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_space_in_value", "5;a=b c\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_control", "5;a\u0001\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_nul_in_value", "5;a=b\0\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_del_in_quoted", "5;a=\"b\u007F\"\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_cr_in_quoted", "5;a=\"b\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_control_escaped", "5;a=\"b\\\u0001\"\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_after_quoted", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_bare_lf", "5;a\nhello\r\n0\r\n\r\n", ChunkedError.InvalidChunkExtension),
        new("extension_over_cap", "5;a=" + new string('x', ExtensionCap) + "\r\nhello\r\n0\r\n\r\n", ChunkedError.ChunkExtensionTooLong),
        new("extensions_over_cap_together", "5" + string.Concat(Enumerable.Repeat(";ab=cd", ExtensionCap / 6 + 1)) + "\r\nhello\r\n0\r\n\r\n", ChunkedError.ChunkExtensionTooLong),
        new("data_longer_than_size", "3\r\nhello\r\n0\r\n\r\n", ChunkedError.ChunkDataLengthMismatch),
        new("data_shorter_than_size", "7\r\nhello\r\n0\r\n\r\n", ChunkedError.ChunkDataLengthMismatch),
        new("data_shorter_by_crlf", "5\r\nhel\r\n0\r\n\r\n", ChunkedError.ChunkDataLengthMismatch),
        new("data_not_followed_by_crlf", "5\r\nhelloX\r\n0\r\n\r\n", ChunkedError.ChunkDataLengthMismatch),
        new("data_followed_by_bare_lf", "5\r\nhello\n0\r\n\r\n", ChunkedError.ChunkDataLengthMismatch),
        new("data_followed_by_bare_cr", "5\r\nhello\r0\r\n\r\n", ChunkedError.ChunkDataLengthMismatch),
        new("bare_lf_after_size", "5\nhello\r\n0\r\n\r\n", ChunkedError.BareLineFeed),
        new("bare_lf_after_last_size", "0\n\r\n", ChunkedError.BareLineFeed),
        new("bare_lf_as_size_line", "5\r\nhello\r\n\n0\r\n\r\n", ChunkedError.BareLineFeed),
        new("bare_cr_after_size", "5\rhello\r\n0\r\n\r\n", ChunkedError.BareCarriageReturn),
        new("bare_cr_after_extension", "5;a=b\rhello\r\n0\r\n\r\n", ChunkedError.BareCarriageReturn),
        new("bare_lf_ends_body", "0\r\n\n", ChunkedError.InvalidTrailer),
        new("bare_cr_ends_body", "0\r\n\rX", ChunkedError.BareCarriageReturn),
        new("trailer_bare_lf", "0\r\nX-T: v\n\r\n", ChunkedError.InvalidTrailer),
        new("trailer_bare_cr", "0\r\nX-T: v\rX\r\n\r\n", ChunkedError.BareCarriageReturn),
        new("trailer_folded", "0\r\nX-T: v\r\n w\r\n\r\n", ChunkedError.InvalidTrailer),
        new("trailer_space_before_colon", "0\r\nX-T : v\r\n\r\n", ChunkedError.InvalidTrailer),
        new("trailer_no_colon", "0\r\nX-T\r\n\r\n", ChunkedError.InvalidTrailer),
        new("trailer_empty_name", "0\r\n: v\r\n\r\n", ChunkedError.InvalidTrailer),
        new("trailer_nul", "0\r\nX-T: v\0\r\n\r\n", ChunkedError.InvalidTrailer),
    ];

    public static BadChunkedCase Find(string name) => All.Single(c => c.Name == name);

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
