using System.Text;
using static FastProxy.Http1.HttpChars;

namespace FastProxy.Http1;

public enum ParseStatus : byte
{
    /// <summary>The head is not complete yet: call again with the same bytes and more.</summary>
    NeedMore = 0,
    Complete,
    Error,
}

/// <summary>
/// The line machinery shared by request and response heads. Parsing is resumable: the caller passes every
/// byte received since the head started, each time more arrive; lines already parsed are not looked at again,
/// so a head trickled one byte at a time costs O(n), not O(n²). Results are offsets into those bytes.
/// </summary>
internal static class HeadParser
{
    /// <summary>RFC 9112 §2.2 lets a server skip empty lines before a request line; a few, not an unbounded stream.</summary>
    private const int MaxLeadingEmptyLines = 4;

    public static ParseStatus Parse<TStartLine>(ReadOnlySpan<byte> input, MessageHead head, in HeadLimits limits)
        where TStartLine : struct, IStartLineParser
    {
        while (true)
        {
            int lf = input[head.ScanOffset..].IndexOf(LF);
            if (lf >= 0) lf += head.ScanOffset;

            // The limits are judged on the line as far as it has arrived, before its terminator is looked at: a line
            // already over a limit is refused now rather than at the timeout, and a head gets the same answer
            // however its bytes are split.
            var limitError = CheckLimits<TStartLine>(input, lf < 0 ? input.Length : lf, lf >= 0, head, limits);
            if (limitError != HeadError.None) return Fail(head, limitError);

            if (lf < 0)
            {
                head.ScanOffset = input.Length;
                return ParseStatus.NeedMore;
            }

            // RFC 9112 §2.2: a bare LF as a line terminator is refused; only CRLF ends a line here.
            if (lf == head.LineStart || input[lf - 1] != CR) return Fail(head, HeadError.BareLineFeed);

            int lineStart = head.LineStart;
            var line = input[lineStart..(lf - 1)];
            head.LineStart = head.ScanOffset = lf + 1;

            if (!head.InFields)
            {
                if (line.IsEmpty)
                {
                    if (!default(TStartLine).AllowLeadingEmptyLines || ++head.LeadingEmptyLines > MaxLeadingEmptyLines)
                        return Fail(head, HeadError.TooManyEmptyLines);
                    continue;
                }
                var error = default(TStartLine).Parse(line, lineStart, head);
                if (error != HeadError.None) return Fail(head, error);
                head.InFields = true;
                head.FieldsStart = lf + 1;
                continue;
            }

            if (line.IsEmpty)
            {
                head.HeadLength = lf + 1;
                var error = CheckFieldSection(input[head.FieldsStart..head.HeadLength], head.FieldCount);
                if (error == HeadError.None) error = default(TStartLine).Finish(input[..head.HeadLength], head);
                return error == HeadError.None ? ParseStatus.Complete : Fail(head, error);
            }

            if (head.FieldCount >= limits.MaxHeaders) return Fail(head, HeadError.TooManyHeaders);
            var fieldError = ParseField(line, lineStart, lf + 1, head);
            if (fieldError != HeadError.None) return Fail(head, fieldError);
        }
    }

    /// <summary>
    /// The size limits, applied to the current line's bytes up to <paramref name="lineEnd"/> (its LF when
    /// <paramref name="terminated"/>, else the end of what has arrived). Each measure only grows as bytes arrive,
    /// so a prefix is refused only if the whole head would be, for the same reason.
    /// </summary>
    private static HeadError CheckLimits<TStartLine>(ReadOnlySpan<byte> input, int lineEnd, bool terminated, MessageHead head,
        in HeadLimits limits)
        where TStartLine : struct, IStartLineParser
    {
        if (!head.InFields)
        {
            // The start line's length without its CRLF. A CR last may be the CRLF's, whether or not its LF is here yet.
            int length = lineEnd - head.LineStart;
            if (length > 0 && input[lineEnd - 1] == CR) length--;
            return length > limits.MaxStartLine ? default(TStartLine).StartLineTooLong : HeadError.None;
        }
        // With max_headers fields already, only the final CRLF may follow: a line starting with anything else is one
        // field too many, known from its first byte. (A CR first is judged when the line ends.)
        if (head.FieldCount >= limits.MaxHeaders && lineEnd > head.LineStart && input[head.LineStart] != CR)
            return HeadError.TooManyHeaders;
        // The field section's bytes through this line's LF (through the final CRLF for the empty line that ends it).
        int bytes = lineEnd + (terminated ? 1 : 0) - head.FieldsStart;
        return bytes > limits.MaxHeaderBytes ? HeadError.HeadersTooLarge : HeadError.None;
    }

    /// <summary>
    /// RFC 9110 §5.5: field values hold no NUL, no control octet but HTAB, no DEL; and no CR but the line ends
    /// (a bare CR is a classic smuggling vector). One vectorised pass over the section, and a count: every LF was
    /// checked to follow a CR, so as many CRs as lines means there is no other CR.
    /// </summary>
    private static HeadError CheckFieldSection(ReadOnlySpan<byte> section, int fieldCount)
    {
        if (section.ContainsAny(FieldSectionForbidden)) return HeadError.InvalidFieldValue;
        // fieldCount lines plus the empty line that ends the head.
        if (section.Count(CR) != fieldCount + 1) return HeadError.InvalidFieldValue;
        return HeadError.None;
    }

    private static ParseStatus Fail(MessageHead head, HeadError error)
    {
        head.Error = error;
        return ParseStatus.Error;
    }

    /// <summary>field-line = field-name ":" OWS field-value OWS (RFC 9112 §5).</summary>
    private static HeadError ParseField(ReadOnlySpan<byte> line, int lineStart, int lineEnd, MessageHead head)
    {
        // RFC 9112 §5.2: obs-fold (a line starting with whitespace) is refused, as is whitespace after the start line.
        if (IsOws(line[0])) return HeadError.ObsoleteLineFolding;

        // One pass finds the colon and checks the name: ':' is not a tchar, so the first byte that is not one is the
        // colon of a well-formed line (a separate search for the colon cost a vectorised call per field).
        int colon = IndexOfNonToken(line, out bool underscore);
        if (colon < 0) return HeadError.MissingColon;
        if (line[colon] != Colon)
        {
            // A byte that is not a tchar before any colon, or no colon at all: judged as before (the colon first).
            colon = line.IndexOf(Colon);
            if (colon < 0) return HeadError.MissingColon;
            if (colon == 0) return HeadError.EmptyFieldName;
            // RFC 9112 §5.1: no whitespace between name and colon; it has been used to smuggle requests.
            return IsOws(line[colon - 1]) ? HeadError.WhitespaceBeforeColon : HeadError.InvalidFieldName;
        }
        if (colon == 0) return HeadError.EmptyFieldName;
        var name = line[..colon];

        var raw = line[(colon + 1)..];
        int start = 0, end = raw.Length;
        while (start < end && IsOws(raw[start])) start++;
        while (end > start && IsOws(raw[end - 1])) end--;
        var value = raw[start..end];
        // The value's octets (no NUL, bare CR, other controls or DEL) are checked once for the whole field section
        // when the head completes: see CheckFieldSection.

        ref HeaderField field = ref head.AddField();
        field.LineStart = lineStart;
        field.LineEnd = lineEnd;
        field.NameLength = colon;
        field.ValueStart = lineStart + colon + 1 + start;
        field.ValueLength = value.Length;
        field.Known = KnownHeaders.Lookup(name);
        field.HopByHop = KnownHeaders.IsHopByHop(field.Known) || (underscore && field.Known == KnownHeader.None && KnownHeaders.IsUnderscoreAlias(name));

        // Values the parser interprets are checked now, before they are read as numbers or lists.
        if (field.Known is KnownHeader.ContentLength or KnownHeader.Connection && !IsFieldValue(value)) return HeadError.InvalidFieldValue;
        switch (field.Known)
        {
            case KnownHeader.ContentLength:
                // RFC 9112 §6.3: several Content-Length lines (even equal ones) make the framing ambiguous; refuse.
                if (head.ContentLength >= 0) return HeadError.DuplicateContentLength;
                if (!TryParseContentLength(value, out long length)) return HeadError.InvalidContentLength;
                head.ContentLength = length;
                break;
            case KnownHeader.TransferEncoding:
                head.TransferEncodingFields++;
                break;
            case KnownHeader.Connection:
                if (!ParseConnection(value, head)) return HeadError.InvalidConnection;
                break;
        }
        return default(HeadError);
    }

    /// <summary>Connection = #connection-option (RFC 9110 §7.6.1): close, keep-alive, upgrade, or a field name to drop.</summary>
    private static bool ParseConnection(ReadOnlySpan<byte> value, MessageHead head)
    {
        // The two values nearly every message carries, without the list walk.
        if (value.Length == 10 && EqualsLowercase(value, "keep-alive"u8))
        {
            head.Connection |= ConnectionOptions.KeepAlive;
            return true;
        }
        if (value.Length == 5 && EqualsLowercase(value, "close"u8))
        {
            head.Connection |= ConnectionOptions.Close;
            return true;
        }
        foreach (var range in value.Split(Comma))
        {
            var option = TrimOws(value[range]);
            if (option.IsEmpty) continue; // RFC 9110 §5.6.1: empty list elements are allowed and ignored.
            if (!IsToken(option)) return false;
            if (Ascii.EqualsIgnoreCase(option, "close"u8)) head.Connection |= ConnectionOptions.Close;
            else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8)) head.Connection |= ConnectionOptions.KeepAlive;
            else if (Ascii.EqualsIgnoreCase(option, "upgrade"u8)) head.Connection |= ConnectionOptions.Upgrade;
            else head.NominatesFields = true;
        }
        return true;
    }

    /// <summary>Marks every field that a Connection field names as hop-by-hop (RFC 9110 §7.6.1).</summary>
    public static void MarkConnectionNominated(ReadOnlySpan<byte> input, MessageHead head)
    {
        if (!head.NominatesFields) return;
        int count = head.FieldCount;
        for (int c = 0; c < count; c++)
        {
            if (head.FieldAt(c).Known != KnownHeader.Connection) continue;
            var value = head.FieldAt(c).Value(input);
            foreach (var range in value.Split(Comma))
            {
                var option = TrimOws(value[range]);
                if (option.IsEmpty || Ascii.EqualsIgnoreCase(option, "close"u8) || Ascii.EqualsIgnoreCase(option, "keep-alive"u8)
                    || Ascii.EqualsIgnoreCase(option, "upgrade"u8))
                {
                    continue;
                }
                for (int i = 0; i < count; i++)
                {
                    ref HeaderField field = ref head.FieldAt(i);
                    // Framing and Host are never dropped on a client's say-so: that would let it desynchronise us.
                    if (field.Known is KnownHeader.ContentLength or KnownHeader.TransferEncoding or KnownHeader.Host) continue;
                    if (Ascii.EqualsIgnoreCase(field.Name(input), option)) field.HopByHop = true;
                }
            }
        }
    }

    /// <summary>
    /// Transfer-Encoding (RFC 9112 §6.1) across all its field lines must be exactly one "chunked": a doubled
    /// chunked, a leading or trailing comma, parameters or odd bytes are malformed (400); a coding we do not
    /// implement is 501.
    /// </summary>
    public static HeadError CheckTransferEncoding(ReadOnlySpan<byte> input, MessageHead head)
    {
        int chunked = 0;
        bool unknown = false, chunkedLast = false;
        foreach (var field in head.Fields)
        {
            if (field.Known != KnownHeader.TransferEncoding) continue;
            var value = field.Value(input);
            foreach (var range in value.Split(Comma))
            {
                var coding = TrimOws(value[range]);
                if (coding.IsEmpty || !IsToken(coding)) return HeadError.InvalidTransferEncoding;
                if (Ascii.EqualsIgnoreCase(coding, "chunked"u8))
                {
                    chunked++;
                    chunkedLast = true;
                }
                else
                {
                    unknown = true;
                    chunkedLast = false;
                }
            }
        }
        if (chunked > 1) return HeadError.InvalidTransferEncoding;
        if (chunked == 1 && !chunkedLast) return HeadError.InvalidTransferEncoding;
        if (unknown) return HeadError.UnsupportedTransferEncoding;
        if (chunked == 0) return HeadError.InvalidTransferEncoding;
        head.IsChunked = true;
        return HeadError.None;
    }
}

/// <summary>What differs between a request head and a response head: the start line and the final checks.</summary>
internal interface IStartLineParser
{
    bool AllowLeadingEmptyLines { get; }
    HeadError StartLineTooLong { get; }
    HeadError Parse(ReadOnlySpan<byte> line, int lineStart, MessageHead head);
    HeadError Finish(ReadOnlySpan<byte> input, MessageHead head);
}
