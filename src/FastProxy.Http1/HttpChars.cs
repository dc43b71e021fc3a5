using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

    /// <summary>
    /// The same classes as byte tables, for short spans (field names, methods, list items): a lookup per byte beats a
    /// vectorised search whose set-up costs more than a ten-byte name (measured with callgrind: a third of the
    /// parser's instructions went to SearchValues calls on short spans).
    /// </summary>
    private static readonly bool[] s_tokenTable = BuildTable(Token);
    private static readonly bool[] s_authorityTable = BuildTable(Authority);
    private static readonly bool[] s_fieldValueTable = BuildTable(FieldValue);

    private static bool[] BuildTable(SearchValues<byte> values)
    {
        var table = new bool[256];
        for (int b = 0; b < 256; b++) table[b] = values.Contains((byte)b);
        return table;
    }

    /// <summary>Index of the first byte that is not a tchar, or -1.</summary>
    public static int IndexOfNonToken(ReadOnlySpan<byte> span)
    {
        var table = s_tokenTable;
        for (int i = 0; i < span.Length; i++)
        {
            if (!table[span[i]]) return i;
        }
        return -1;
    }

    /// <summary>
    /// <see cref="IndexOfNonToken(ReadOnlySpan{byte})"/>, also telling whether an underscore came before that byte (the
    /// parser's field names: only a name with one can alias a known field, so the rest skip that check).
    /// </summary>
    public static int IndexOfNonToken(ReadOnlySpan<byte> span, out bool underscore)
    {
        var table = s_tokenTable;
        bool seen = false;
        for (int i = 0; i < span.Length; i++)
        {
            byte b = span[i];
            if (!table[b])
            {
                underscore = seen;
                return i;
            }
            seen |= b == (byte)'_';
        }
        underscore = seen;
        return -1;
    }

    /// <summary>
    /// <paramref name="name"/> equals <paramref name="lower"/> (lowercase letters and other bytes), ASCII letters in any
    /// case: eight bytes at a time, a letter of <paramref name="lower"/> matching either case and any other byte only
    /// itself (its 0x40 bit says which). For the short known names, where <c>Ascii.EqualsIgnoreCase</c>'s set-up costs
    /// more than the comparison.
    /// </summary>
    public static bool EqualsLowercase(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lower)
    {
        int n = lower.Length;
        if (name.Length != n) return false;
        ref byte a = ref MemoryMarshal.GetReference(name);
        ref byte b = ref MemoryMarshal.GetReference(lower);
        if (n >= 8)
        {
            for (int i = 0; i < n - 8; i += 8)
            {
                if (!Equal8(ref a, ref b, i)) return false;
            }
            return Equal8(ref a, ref b, n - 8);
        }
        if (n >= 4) return Equal4(ref a, ref b, 0) && Equal4(ref a, ref b, n - 4);
        for (int i = 0; i < n; i++)
        {
            byte t = Unsafe.Add(ref b, i);
            if ((byte)(Unsafe.Add(ref a, i) | ((t & 0x40) >> 1)) != t) return false;
        }
        return true;
    }

    private static bool Equal8(ref byte a, ref byte b, int at)
    {
        ulong x = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref a, at));
        ulong t = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref b, at));
        return (x | ((t & 0x4040404040404040UL) >> 1)) == t;
    }

    private static bool Equal4(ref byte a, ref byte b, int at)
    {
        uint x = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref a, at));
        uint t = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref b, at));
        return (x | ((t & 0x40404040U) >> 1)) == t;
    }

    public static bool IsToken(ReadOnlySpan<byte> span) => span.Length > 0 && IndexOfNonToken(span) < 0;

    /// <summary>True when every byte is a field-value octet (for the few short values the parser interprets itself).</summary>
    public static bool IsFieldValue(ReadOnlySpan<byte> span)
    {
        var table = s_fieldValueTable;
        foreach (byte b in span)
        {
            if (!table[b]) return false;
        }
        return true;
    }

    /// <summary>True when every byte may appear in an authority (host[:port]); authorities are short.</summary>
    public static bool IsAuthority(ReadOnlySpan<byte> span)
    {
        var table = s_authorityTable;
        foreach (byte b in span)
        {
            if (!table[b]) return false;
        }
        return true;
    }

    /// <summary>
    /// The octets a field section must not hold: controls other than HTAB, CR and LF, and DEL (RFC 9110 §5.5).
    /// Searched for positively: an all-ASCII set takes SearchValues' fast vector path, while "any except" a set that
    /// includes obs-text (0x80-0xFF) is several times slower (measured with callgrind).
    /// </summary>
    public static readonly SearchValues<byte> FieldSectionForbidden = SearchValues.Create(BuildFieldSectionForbidden());

    /// <summary>Field-value octets exclude these too, and also CR and LF.</summary>
    public static readonly SearchValues<byte> FieldValueForbidden = SearchValues.Create([.. BuildFieldSectionForbidden(), CR, LF]);

    private static byte[] BuildFieldSectionForbidden()
    {
        var list = new List<byte>();
        for (int b = 0x00; b < 0x20; b++)
        {
            if (b != HTAB && b != CR && b != LF) list.Add((byte)b);
        }
        list.Add(0x7F);
        return list.ToArray();
    }

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
