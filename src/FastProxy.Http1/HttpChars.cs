using System.Buffers;

namespace FastProxy.Http1;

/// <summary>Byte classes of the HTTP grammar (RFC 9110 §5.6, RFC 9112, RFC 3986), as vectorisable sets.</summary>
internal static class HttpChars
{
    public const byte CR = (byte)'\r';
    public const byte LF = (byte)'\n';
    public const byte SP = (byte)' ';
    public const byte HTAB = (byte)'\t';
    public const byte Colon = (byte)':';
    public const byte Comma = (byte)',';
    public const byte Semicolon = (byte)';';
    public const byte EqualsSign = (byte)'=';
    public const byte DQuote = (byte)'"';
    public const byte Backslash = (byte)'\\';
    public const byte Slash = (byte)'/';
    public const byte Question = (byte)'?';
    public const byte Hash = (byte)'#';
    public const byte Star = (byte)'*';
    public const byte At = (byte)'@';
    public const byte LBracket = (byte)'[';
    public const byte RBracket = (byte)']';

    /// <summary>RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&amp;" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.</summary>
    public static readonly SearchValues<byte> Token =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>
    /// RFC 9110 §5.5: field-value octets are VCHAR, obs-text, SP and HTAB. Everything else (NUL, CR, LF, the
    /// other controls and DEL) is rejected: a bare CR or a NUL in a value is a classic smuggling vector.
    /// </summary>
    public static readonly SearchValues<byte> FieldValue = SearchValues.Create(BuildFieldValue());

    /// <summary>
    /// Request-target octets (RFC 9112 §3.2, RFC 3986): visible US-ASCII except '#' (a fragment is never sent)
    /// and the octets RFC 3986 excludes outright ('"', '&lt;', '&gt;', '\', '^', '`', '{', '|', '}' are tolerated
    /// because real clients send them unencoded). No spaces, controls, DEL or non-ASCII.
    /// </summary>
    public static readonly SearchValues<byte> Target = SearchValues.Create(BuildTarget());

    /// <summary>RFC 3986 §3.2.2 host (reg-name, IP-literal) plus ':' port: unreserved / pct-encoded / sub-delims / ":" / "[" / "]".</summary>
    public static readonly SearchValues<byte> Authority =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:[]"u8);

    public static readonly SearchValues<byte> HexDigits = SearchValues.Create("0123456789ABCDEFabcdef"u8);

    /// <summary>quoted-string qdtext (RFC 9110 §5.6.4): HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.</summary>
    public static readonly SearchValues<byte> QdText = SearchValues.Create(BuildQdText());

    private static byte[] BuildFieldValue()
    {
        var list = new List<byte> { HTAB };
        for (int b = 0x20; b <= 0x7E; b++) list.Add((byte)b);
        for (int b = 0x80; b <= 0xFF; b++) list.Add((byte)b);
        return list.ToArray();
    }

    private static byte[] BuildTarget()
    {
        var list = new List<byte>();
        for (int b = 0x21; b <= 0x7E; b++)
        {
            if (b != Hash) list.Add((byte)b);
        }
        return list.ToArray();
    }

    private static byte[] BuildQdText()
    {
        var list = new List<byte> { HTAB, SP, 0x21 };
        for (int b = 0x23; b <= 0x5B; b++) list.Add((byte)b);
        for (int b = 0x5D; b <= 0x7E; b++) list.Add((byte)b);
        for (int b = 0x80; b <= 0xFF; b++) list.Add((byte)b);
        return list.ToArray();
    }

    public static bool IsToken(ReadOnlySpan<byte> span) => span.Length > 0 && !span.ContainsAnyExcept(Token);

    public static bool IsOws(byte b) => b == SP || b == HTAB;

    /// <summary>Strips optional whitespace (SP / HTAB) from both ends.</summary>
    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> span)
    {
        int start = 0, end = span.Length;
        while (start < end && IsOws(span[start])) start++;
        while (end > start && IsOws(span[end - 1])) end--;
        return span[start..end];
    }

    /// <summary>
    /// Parses a Content-Length value (RFC 9110 §8.6: 1*DIGIT). Anything but plain ASCII digits is refused:
    /// no sign, no hex, no spaces inside, no list, and no value that overflows a long.
    /// </summary>
    public static bool TryParseContentLength(ReadOnlySpan<byte> span, out long value)
    {
        value = 0;
        if (span.IsEmpty) return false;
        foreach (byte b in span)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9) return false;
            if (value > (long.MaxValue - digit) / 10) return false;
            value = value * 10 + digit;
        }
        return true;
    }
}
